"""The pictures the applications share (matplotlib, Agg backend, PNG files
written atomically): image grids, reconstructions, loss curves."""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_gumbel._checks import check_int
from keras_gumbel.apps.common.files import atomic_path


def save_figure(figure, path, dpi=100):
    """Writes `figure` as a PNG to `path` atomically (see
    `keras_gumbel.apps.common.files.atomic_path`), creating the folder if needed.
    Returns `path`."""
    FigureCanvasAgg(figure)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return path


def _mosaic(images, columns, image_shape, padding=2):
    """Tiles images `[N, H*W]` into one array, `columns` per row, with
    `padding` pixels of background (1.0 = white) between them."""
    height, width = image_shape
    count = len(images)
    rows = -(-count // columns)
    mosaic = np.ones(
        (rows * (height + padding) + padding, columns * (width + padding) + padding)
    )
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = padding + r * (height + padding), padding + c * (width + padding)
        mosaic[top : top + height, left : left + width] = image.reshape(height, width)
    return mosaic


def plot_image_grid(images, path, columns=8, title=None, image_shape=(28, 28)):
    """Draws images as a grid (dark digits on white) into a PNG.

    Args:
        images: pixel intensities in `[0, 1]`, an array-like `[N, H * W]` or
            `[N, H, W]`, `N >= 1`.
        path: the PNG file to write (its folder is created if needed).
        columns: images per row, an integer >= 1.
        title: an optional title.
        image_shape: `(H, W)` of one image.

    Returns:
        `path`.
    """
    height, width = image_shape
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 3:
        images = images.reshape(len(images), -1)
    if images.ndim != 2 or len(images) == 0 or images.shape[1] != height * width:
        raise ValueError(
            f"images must be an array [N >= 1, {height * width}] or [N, {height}, "
            f"{width}], received shape {images.shape}"
        )
    columns = min(check_int(columns, "columns"), len(images))
    # White background, dark ink: the digits as on paper.
    mosaic = _mosaic(1.0 - np.clip(images, 0.0, 1.0), columns, image_shape)
    scale = 0.035  # inches per pixel
    figure = Figure(
        figsize=(mosaic.shape[1] * scale, mosaic.shape[0] * scale + (0.35 if title else 0.0))
    )
    axes = figure.add_axes((0, 0, 1, mosaic.shape[0] * scale / figure.get_figheight()))
    axes.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=9, y=1.0 - 0.05 / figure.get_figheight())
    return save_figure(figure, path)


def plot_reconstructions(originals, reconstructions, path, title=None):
    """The PyTorch tutorial's picture: a row of originals above a row of
    their reconstructions, as a PNG. Both are `[N, 784]` in `[0, 1]`, the
    same `N`. Returns `path`."""
    originals = np.asarray(originals, dtype=np.float64)
    reconstructions = np.asarray(reconstructions, dtype=np.float64)
    if originals.shape != reconstructions.shape or originals.ndim < 2:
        raise ValueError(
            "originals and reconstructions must be image batches of the same "
            f"shape, received {originals.shape} and {reconstructions.shape}"
        )
    stacked = np.concatenate([originals, reconstructions])
    return plot_image_grid(stacked, path, columns=len(originals), title=title)


def plot_loss_curves(history, path, keys=("loss", "val_loss", "val_hard_loss"), title=None,
                     ylabel="negative ELBO (nats per image)"):
    """Train and test loss per epoch, one line per key of `history` (a dict
    of per-epoch lists, as `History.history`), as a PNG, the epochs on
    whole-number ticks. Keys missing from `history` are skipped. Returns
    `path`."""
    curves = {k: np.asarray(history[k], dtype=np.float64) for k in keys if k in history}
    if not curves or not any(len(v) for v in curves.values()):
        raise ValueError(
            f"history has none of the keys {tuple(keys)} with values, received "
            f"keys {sorted(history)}"
        )
    labels = {
        "loss": "train (relaxed)",
        "val_loss": "test (relaxed)",
        "val_hard_loss": "test (hard one-hot)",
    }
    figure = Figure(figsize=(6.0, 4.0))
    axes = figure.add_subplot()
    for key, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        axes.plot(epochs, values, marker="o", markersize=3, label=labels.get(key, key))
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return save_figure(figure, path)
