"""The applications: complete models built on the core, one folder each.

- `gan/`: a GAN whose Gumbel-softmax generator learns a distribution over
  the numbers 0..4 (`GumbelGAN`, `CategoricalGenerator`, `number_stream`).
- `vae/`: a discrete VAE on MNIST with a 30 x 10 categorical latent code
  (`DiscreteVAE`).
- `common/`: what the applications share, written once: run options,
  backups and history files (`run`), atomic writes (`files`), strategies
  (`distribute`), the command-line frame (`cli`), MNIST (`mnist`), the
  pictures (`plots`), SavedModel export (`export`), version workarounds
  (`compat`).

Each folder holds its model(s) (`model.py`), data pipeline, recipe (the
library function behind its command), pictures, export and command. They
are written for Keras' TensorFlow backend (tf.data, SavedModel,
tf.distribute) and need the `demos` extra for data and pictures:
`pip install "keras_gumbel[demos]"`. Imports go one way: an application ->
`common` -> the core (`keras_gumbel.ops`, `layers`, ...).

Every module of theirs that needs TensorFlow imports `common.backend`
first, which checks that TensorFlow is installed and is Keras' backend and
says in one line what to do if not; the commands' modules (`cli.py`) import
nothing heavy, so a command can say what is missing without a traceback.
"""
