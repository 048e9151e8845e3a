"""Demo models built on keras_gumbel's layer and callback."""

from keras_gumbel.models.gan import CategoricalGenerator, GumbelGAN
from keras_gumbel.models.vae import DiscreteVAE

__all__ = ["CategoricalGenerator", "DiscreteVAE", "GumbelGAN"]
