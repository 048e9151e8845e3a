"""Demo models built on keras_gumbel's layer and callback."""

from keras_gumbel.models.vae import DiscreteVAE  # noqa: E402
