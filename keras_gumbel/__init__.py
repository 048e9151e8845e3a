"""keras_gumbel: Gumbel-softmax (Concrete) layers, schedules and demos for Keras 3.

Keras 3 on the TensorFlow backend; the sampling distribution is TensorFlow
Probability's `RelaxedOneHotCategorical`.
"""

import os as _os


def _check_backend(backend):
    if backend != "tensorflow":
        raise ImportError(
            "keras_gumbel needs Keras' TensorFlow backend, but Keras is set to "
            f"the {backend!r} backend. Set the environment variable "
            "KERAS_BACKEND=tensorflow (or unset it) before importing keras."
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
