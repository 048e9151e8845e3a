"""Demo models built on keras_gumbel's layer and callback."""

from keras_gumbel.models.gan import CategoricalGenerator, GumbelGAN  # noqa: E402

from keras_gumbel.models.vae import DiscreteVAE  # noqa: E402
