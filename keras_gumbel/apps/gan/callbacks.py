"""The toy GAN's callback: the generator's learned probabilities, every epoch."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras

__all__ = ["ProbabilityHistory"]


class ProbabilityHistory(keras.callbacks.Callback):
    """Records a generator's learned probabilities after every epoch.

    After epoch `e` it appends `generator.probs` (a vector of `K`
    probabilities) to `self.history` and writes each entry into the logs
    as `prob_0 ... prob_{K-1}`, so `History`, `CSVLogger` and the progress
    bar show them. `self.history` is the `[epochs, K]` array that
    `keras_gumbel.plots.plot_probability_errors` draws.

    Args:
        generator: the object whose `probs` to record; `None` uses the
            model's `generator` (as `keras_gumbel.models.GumbelGAN` has).
    """

    def __init__(self, generator=None):
        super().__init__()
        self._requested_generator = generator
        self.generator = None
        self.history = []

    def set_model(self, model):
        super().set_model(model)
        generator = self._requested_generator
        if generator is None:
            generator = getattr(model, "generator", None)
        if generator is None or not hasattr(generator, "probs"):
            raise ValueError(
                "ProbabilityHistory needs a generator with a `probs` property: "
                f"pass generator=... or use a model with one, such as "
                f"keras_gumbel.models.GumbelGAN; received generator={generator!r} "
                f"for model {model.name!r}"
            )
        self.generator = generator

    def on_train_begin(self, logs=None):
        # Like keras.callbacks.History: one record per fit() call.
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        probs = keras.ops.convert_to_numpy(self.generator.probs).astype(float)
        self.history.append(probs)
        if logs is not None:
            for k, p in enumerate(probs):
                logs[f"prob_{k}"] = float(p)
