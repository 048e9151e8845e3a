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

Users import the public names from `keras_gumbel.models`, `keras_gumbel.data`,
`keras_gumbel.export` and `keras_gumbel.recipes.gan`; this package imports
nothing itself, so that its command starts without TensorFlow.
"""
