"""Demo models built on keras_gumbel's layer and callback."""

from keras_gumbel import _tensorflow_only  # noqa: F401 (first: a clear error on another backend)

from keras_gumbel.models.gan import CategoricalGenerator, GumbelGAN
from keras_gumbel.models.vae import DiscreteVAE

__all__ = ["CategoricalGenerator", "DiscreteVAE", "GumbelGAN"]
