"""Imported first by every demo module: a clear error on another backend.

The demos (tf.data pipelines, the GAN and VAE models, SavedModel export,
tf.distribute, the training recipes and their CLIs) are written for Keras'
TensorFlow backend; the core (ops, layers, schedules, TemperatureScheduler)
runs on TensorFlow, JAX and PyTorch.
"""

import keras

if keras.backend.backend() != "tensorflow":
    raise ImportError(
        "keras_gumbel's demos (keras_gumbel.models, data, export, distribute, the "
        "training recipes and the keras-gumbel-* commands) run on Keras' TensorFlow "
        f"backend only, but Keras is set to the {keras.backend.backend()!r} backend "
        f"(KERAS_BACKEND={keras.backend.backend()}). Set KERAS_BACKEND=tensorflow to use "
        "them; the core (keras_gumbel.ops, GumbelSoftmax, RelaxedBernoulli, schedules, "
        f"TemperatureScheduler) runs on {keras.backend.backend()} too."
    )
