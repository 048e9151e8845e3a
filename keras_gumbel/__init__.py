"""keras_gumbel: Gumbel-softmax (Concrete) layers, schedules and demos for Keras 3.

The core (`ops`, `GumbelSoftmax`, `RelaxedBernoulli`, `schedules`,
`TemperatureScheduler`) runs on Keras' TensorFlow, JAX and PyTorch backends;
the demos (`models`, `data`, `export`, `distribute`, the training recipes and
CLIs) on TensorFlow only. `layer.distribution()` returns TensorFlow
Probability's distributions on TensorFlow and the package's own, built on
`ops` (whose densities they use), on JAX and PyTorch.
"""

import os as _os

BACKENDS = ("tensorflow", "jax", "torch")


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ImportError(
            f"keras_gumbel runs on Keras' {', '.join(BACKENDS)} backends, but Keras "
            f"is set to the {backend!r} backend (KERAS_BACKEND={backend}). Set the "
            "environment variable KERAS_BACKEND to one of them (or unset it for "
            "tensorflow) before importing keras."
        )


# Checked before importing keras too: another backend may fail to import at
# all here (Keras' numpy backend needs jax), which would hide the reason.
_check_backend(_os.environ.get("KERAS_BACKEND", "tensorflow"))

import keras as _keras  # noqa: E402

_check_backend(_keras.backend.backend())

from keras_gumbel import ops, schedules  # noqa: E402
from keras_gumbel.callbacks import TemperatureScheduler  # noqa: E402
from keras_gumbel.layers import GumbelSoftmax, RelaxedBernoulli  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "GumbelSoftmax",
    "RelaxedBernoulli",
    "TemperatureScheduler",
    "ops",
    "schedules",
]

# Registers the models the package saves (`GumbelGAN`, `CategoricalGenerator`,
# `DiscreteVAE`) with Keras, so `keras.saving.load_model` finds them after
# `import keras_gumbel` alone. They import none of the demos' dependencies;
# they are TensorFlow-only, hence the guard for the other backends.
if _keras.backend.backend() == "tensorflow":
    from keras_gumbel import models as _models  # noqa: E402, F401
