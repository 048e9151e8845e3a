"""Imported first by every application module that needs TensorFlow: a
one-line `ImportError` saying what to do where TensorFlow is not installed
or is not Keras' backend. (The applications use tf.data, SavedModel and
tf.distribute; the core runs on every backend.)"""

import importlib.util

if importlib.util.find_spec("tensorflow") is None:
    raise ImportError(
        "keras_gumbel's applications (keras_gumbel.apps, models, data, export, "
        "distribute, recipes and the keras-gumbel-* commands) need TensorFlow, "
        'which is not installed; install it with: pip install "keras_gumbel[demos]"'
    )

import keras  # noqa: E402

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_gumbel's applications (keras_gumbel.apps, models, data, export, "
        "distribute, recipes and the keras-gumbel-* commands) run on Keras' TensorFlow "
        f"backend only, but Keras is set to the {keras.backend.backend()!r} backend "
        f"(KERAS_BACKEND={keras.backend.backend()}). Set KERAS_BACKEND=tensorflow to use "
        "them; the core (keras_gumbel.ops, GumbelSoftmax, RelaxedBernoulli, schedules, "
        f"TemperatureScheduler) runs on {keras.backend.backend()} too."
    )
