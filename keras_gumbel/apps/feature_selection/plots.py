"""The selected pixels on the 28 x 28 grid, over the mean digit."""

import numpy as np
from matplotlib.figure import Figure

from keras_gumbel.apps.common.plots import save_figure

__all__ = ["plot_selected_pixels"]


def plot_selected_pixels(selected, mean_image, path, title=None, image_shape=(28, 28)):
    """Draws the mean image in grey and each selected pixel as a red square
    (darker red where a pixel was selected more than once) into a PNG.

    Args:
        selected: the selected pixel indices (a duplicate is drawn once,
            with its count).
        mean_image: the mean training image, `H * W` values in `[0, 1]`.
        path: the PNG file to write.
        title: an optional title.
        image_shape: `(H, W)`.

    Returns:
        `path`.
    """
    height, width = image_shape
    mean_image = np.asarray(mean_image, dtype=np.float64).reshape(-1)
    selected = np.asarray(selected, dtype=np.int64).reshape(-1)
    if mean_image.size != height * width:
        raise ValueError(f"mean_image must hold {height * width} pixels, received {mean_image.size}")
    if selected.size == 0 or selected.min() < 0 or selected.max() >= height * width:
        raise ValueError(
            f"selected must be pixel indices in [0, {height * width}), received {selected.tolist()}")
    counts = np.bincount(selected, minlength=height * width).reshape(height, width)
    figure = Figure(figsize=(3.6, 3.9))
    axes = figure.add_axes((0.02, 0.07, 0.96, 0.83))
    axes.imshow(mean_image.reshape(height, width), cmap="gray_r", vmin=0.0, vmax=1.0,
                interpolation="nearest", alpha=0.6)
    overlay = np.zeros((height, width, 4))
    overlay[counts > 0] = (0.85, 0.1, 0.1, 1.0)
    overlay[counts > 1] = (0.45, 0.0, 0.0, 1.0)
    axes.imshow(overlay, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    duplicates = int((counts > 1).sum())
    caption = f"{int((counts > 0).sum())} distinct pixels selected"
    if duplicates:
        caption += f" ({duplicates} selected more than once, dark red)"
    axes.set_xlabel(caption, fontsize=7)
    figure.suptitle(title or "selected pixels over the mean digit", fontsize=8)
    return save_figure(figure, path)
