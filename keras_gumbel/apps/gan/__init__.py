"""The toy GAN: a Gumbel-softmax generator learns a discrete distribution.

The first demo of the original blog post (Zeldes 2018): real samples are
numbers 0..4 drawn from an in-graph `tf.data` stream (`number_stream`); the
generator is learnable logits and a `GumbelSoftmax` (`CategoricalGenerator`);
`GumbelGAN` trains it against a logistic-regression discriminator.

- `model.py`: `CategoricalGenerator`, `GumbelGAN`, `TotalVariationDistance`.
- `data.py`: `number_stream`; `plots.py`: `plot_probability_errors`;
  `callbacks.py`: `ProbabilityHistory`; `export.py`: `export_generator`.
- `recipe.py`: `GANConfig`, `build_gan`, `train_gan`; `cli.py`: the
  `keras-gumbel-train-gan` command.
"""

from keras_gumbel.apps.gan.data import NUMBER_PROBS, number_stream
from keras_gumbel.apps.gan.model import (
           CategoricalGenerator,
           GumbelGAN,
           TotalVariationDistance,
)

__all__ = ["NUMBER_PROBS", "CategoricalGenerator", "GumbelGAN", "TotalVariationDistance",
           "number_stream"]
