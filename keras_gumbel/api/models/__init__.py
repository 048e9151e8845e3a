"""The applications' models (re-exported from `keras_gumbel/apps/`)."""

from keras_gumbel.apps.gan.model import CategoricalGenerator, GumbelGAN, TotalVariationDistance
from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder

__all__ = ["CategoricalGenerator", "DiscreteVAE", "GumbelGAN", "TotalVariationDistance",
           "mlp_decoder", "mlp_encoder"]
