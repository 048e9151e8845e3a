"""The discrete VAE's callback: reconstructions of fixed images during training."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import os

import keras

from keras_gumbel.apps.common.callbacks import spread_epochs

__all__ = ["ReconstructionPlotter"]


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
        from keras_gumbel.apps.common.plots import (
            plot_reconstructions,  # matplotlib on use only
        )

        path = os.path.join(self.folder, f"reconstructions_epoch_{epoch + 1:03d}.png")
        reconstructions = keras.ops.convert_to_numpy(self.model.reconstruct(self.images))
        temperature = (logs or {}).get("temperature")
        title = f"epoch {epoch + 1}: originals (top), reconstructions (bottom)"
        if temperature is not None:
            title += f", temperature {float(temperature):.3f}"
        self.paths.append(plot_reconstructions(self.images, reconstructions, path, title=title))
