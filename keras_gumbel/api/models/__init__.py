"""The applications' models (re-exported from `keras_gumbel/apps/`)."""

from keras_gumbel.apps.feature_selection.model import FixedSelect, IndirectConcreteSelect, SubsetMask
from keras_gumbel.apps.gan.model import CategoricalGenerator, GumbelGAN, TotalVariationDistance
from keras_gumbel.apps.text_gan.model import SequenceDiscriminator, SequenceGAN
from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder

__all__ = ["CategoricalGenerator", "DiscreteVAE", "FixedSelect", "GumbelGAN",
           "IndirectConcreteSelect", "SequenceDiscriminator", "SequenceGAN", "SubsetMask",
           "TotalVariationDistance",
           "mlp_decoder", "mlp_encoder"]
