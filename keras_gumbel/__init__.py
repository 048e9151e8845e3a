"""keras_gumbel: Gumbel-softmax (Concrete) layers, schedules and applications for Keras 3.

The core, in this folder (`ops`, `GumbelSoftmax`, `RelaxedBernoulli`, the
subset layers `GumbelTopK` and `ConcreteSelect`, `schedules`,
`TemperatureScheduler`, the `RAdam` optimizer), runs on Keras' TensorFlow,
JAX and PyTorch backends, and `import keras_gumbel` loads nothing else. The
applications, one folder each in `apps/` (a toy GAN, a discrete VAE), run
on TensorFlow; their public names import from `keras_gumbel.models`, `data`,
`export`, `distribute` and `recipes` (see `api/`). `layer.distribution()` returns
TensorFlow Probability's distributions on TensorFlow and the package's own,
built on the densities of `ops`, on JAX and PyTorch.
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

try:
    import keras as _keras  # noqa: E402
except ModuleNotFoundError as _error:
    if _error.name != "tensorflow":
        raise
    # keras_gumbel installs no backend: say how to get one.
    raise ImportError(
        "Keras is set to its TensorFlow backend (KERAS_BACKEND unset or tensorflow), "
        "which is not installed. Install it with pip install \"keras_gumbel[tensorflow]\", "
        "or use another backend: pip install \"jax[cpu]\" and KERAS_BACKEND=jax, or "
        "PyTorch and KERAS_BACKEND=torch."
    ) from None

_check_backend(_keras.backend.backend())

from keras_gumbel import _compat, ops, schedules  # noqa: E402
from keras_gumbel.callbacks import TemperatureScheduler  # noqa: E402
from keras_gumbel.layers import (  # noqa: E402
    ConcreteSelect,
    GumbelSoftmax,
    GumbelTopK,
    RelaxedBernoulli,
)
from keras_gumbel.optimizers import RAdam  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ConcreteSelect",
    "GumbelSoftmax",
    "GumbelTopK",
    "RAdam",
    "RelaxedBernoulli",
    "TemperatureScheduler",
    "ops",
    "schedules",
]

# The applications' stable import paths (`keras_gumbel.models`, `data`,
# `export`, `distribute`, `recipes`) live in api/, as Keras and keras-hub
# lay out theirs; nothing there is imported here.
__path__.append(_os.path.join(_os.path.dirname(__file__), "api"))

# A saved application model loads after `import keras_gumbel` alone, although
# the applications are not imported (they load TensorFlow's tf.data,
# SavedModel, ...): their saveable classes are registered by name, each
# importing its module on first use (`_compat.register_on_first_use`).
_compat.register_on_first_use({
    "CategoricalGenerator": "keras_gumbel.apps.gan.model",
    "GumbelGAN": "keras_gumbel.apps.gan.model",
    "TotalVariationDistance": "keras_gumbel.apps.gan.model",
    "DiscreteVAE": "keras_gumbel.apps.vae.model",
    "FixedSelect": "keras_gumbel.apps.feature_selection.model",
    "IndirectConcreteSelect": "keras_gumbel.apps.feature_selection.model",
    "SubsetMask": "keras_gumbel.apps.feature_selection.model",
    "SequenceDiscriminator": "keras_gumbel.apps.text_gan.model",
    "SequenceGAN": "keras_gumbel.apps.text_gan.model",
})
