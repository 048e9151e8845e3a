"""The demos' Keras callbacks: a generator's probabilities, an
autoencoder's reconstructions and every epoch's logs, recorded after every
epoch."""

import os

import keras

__all__ = ["EpochLog", "ProbabilityHistory", "ReconstructionPlotter", "spread_epochs"]


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


def spread_epochs(epochs, count=6):
    """`count` epochs spread evenly over `1 .. epochs` (1-based), the first
    and the last included (all of them if `epochs <= count`)."""
    if epochs <= count:
        return list(range(1, epochs + 1))
    return sorted({round(1 + i * (epochs - 1) / (count - 1)) for i in range(count)})


class ReconstructionPlotter(keras.callbacks.Callback):
    """Draws the PyTorch tutorial's picture after a handful of epochs: a row
    of fixed images above the model's reconstructions of them
    (`model.reconstruct`, the decoded most likely code, with the weights
    being trained), as `folder/reconstructions_epoch_NNN.png`.

    With `epochs`, it draws after `count` epochs spread over the run, the
    first and last included (`spread_epochs(epochs, count)`: 1, 3, 5, 6, 8,
    10 of 10 epochs; 1, 33, 65, 96, 128, 160 of 160), so a long run's folder
    stays readable; a resumed run draws the same set. Without `epochs`, it
    draws after every epoch.

    Args:
        images: the images to reconstruct, `[N, 784]` in `[0, 1]`.
        folder: where to write the PNGs (created if needed).
        epochs: the run's total number of epochs (`None`: draw every epoch).
        count: how many epochs to draw when `epochs` is given.
    """

    def __init__(self, images, folder, epochs=None, count=6):
        super().__init__()
        self.images = images
        self.folder = os.fspath(folder)
        self.epochs = None if epochs is None else set(spread_epochs(epochs, count))
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        if self.epochs is not None and epoch + 1 not in self.epochs:
            return
        from keras_gumbel.plots import plot_reconstructions  # matplotlib on use only

        path = os.path.join(self.folder, f"reconstructions_epoch_{epoch + 1:03d}.png")
        reconstructions = keras.ops.convert_to_numpy(self.model.reconstruct(self.images))
        temperature = (logs or {}).get("temperature")
        title = f"epoch {epoch + 1}: originals (top), reconstructions (bottom)"
        if temperature is not None:
            title += f", temperature {float(temperature):.3f}"
        self.paths.append(plot_reconstructions(self.images, reconstructions, path, title=title))


class EpochLog(keras.callbacks.Callback):
    """Records every epoch's logs as it ends, into a JSON file rewritten
    atomically: a list of `{"epoch": N, name: value, ...}` with the epoch's
    true number (1-based, counting the epochs of a resumed run's earlier
    processes). A run killed at any moment leaves every finished epoch's
    record, and only finished ones.

    A resumed run keeps the records already in the file, up to the epoch it
    resumes at. Put it before a `BackupAndRestore` in the callbacks, so the
    log holds at least the epochs the backup resumes after.

    Args:
        path: the JSON file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)
        self.records = []

    def on_train_begin(self, logs=None):
        import json

        try:
            with open(self.path, encoding="utf-8") as f:
                self.records = json.load(f)
        except FileNotFoundError:
            self.records = []

    def on_epoch_end(self, epoch, logs=None):
        from keras_gumbel.files import write_json

        record = {"epoch": epoch + 1}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self.records = [r for r in self.records if r["epoch"] < epoch + 1] + [record]
        write_json(self.path, self.records)
