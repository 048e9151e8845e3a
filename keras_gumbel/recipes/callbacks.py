"""The demos' Keras callbacks: a generator's probabilities and an
autoencoder's reconstructions, recorded after every epoch."""

import os

import keras

__all__ = ["ProbabilityHistory", "ReconstructionPlotter"]


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


class ReconstructionPlotter(keras.callbacks.Callback):
    """Draws the PyTorch tutorial's picture after every epoch: a row of fixed
    images above the model's reconstructions of them (`model.reconstruct`,
    the decoded most likely code), as `folder/reconstructions_epoch_NNN.png`.

    Args:
        images: the images to reconstruct, `[N, 784]` in `[0, 1]`.
        folder: where to write the PNGs (created if needed).
    """

    def __init__(self, images, folder):
        super().__init__()
        self.images = images
        self.folder = os.fspath(folder)
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        from keras_gumbel.plots import plot_reconstructions  # matplotlib on use only

        path = os.path.join(self.folder, f"reconstructions_epoch_{epoch + 1:03d}.png")
        reconstructions = keras.ops.convert_to_numpy(self.model.reconstruct(self.images))
        temperature = (logs or {}).get("temperature")
        title = f"epoch {epoch + 1}: originals (top), reconstructions (bottom)"
        if temperature is not None:
            title += f", temperature {float(temperature):.3f}"
        self.paths.append(plot_reconstructions(self.images, reconstructions, path, title=title))
