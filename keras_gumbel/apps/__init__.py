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

Importing any of them checks first that TensorFlow is installed and is
Keras' backend, and says in one line what to do if not.
"""

import importlib.util as _util

if _util.find_spec("tensorflow") is None:
    raise ImportError(
        "keras_gumbel's applications (keras_gumbel.apps, models, data, export, "
        "distribute, recipes and the keras-gumbel-* commands) need TensorFlow, "
        'which is not installed; install it with: pip install "keras_gumbel[demos]"'
    )

import keras as _keras  # noqa: E402

if _keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_gumbel's applications (keras_gumbel.apps, models, data, export, "
        "distribute, recipes and the keras-gumbel-* commands) run on Keras' TensorFlow "
        f"backend only, but Keras is set to the {_keras.backend.backend()!r} backend "
        f"(KERAS_BACKEND={_keras.backend.backend()}). Set KERAS_BACKEND=tensorflow to use "
        "them; the core (keras_gumbel.ops, GumbelSoftmax, RelaxedBernoulli, schedules, "
        f"TemperatureScheduler) runs on {_keras.backend.backend()} too."
    )
