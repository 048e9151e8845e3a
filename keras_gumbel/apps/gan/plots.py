"""The toy GAN's picture: learned minus true probability, per epoch and category."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from keras_gumbel.apps.common.plots import save_figure
from keras_gumbel.apps.gan.data import check_probs


def plot_probability_errors(history, true_probs, path):
    """Draws learned minus true probability, per epoch and category, as a PNG.

    The picture of the original toy-GAN post: epochs along x, categories
    along y, the error `learned - true` in a diverging colour map: red where
    the generator gives a category too much probability, blue too little,
    white where it has converged. The colour limits are symmetric,
    `+-max|error|`, so white is exactly 0.

    Args:
        history: learned probabilities, one row per epoch: an array-like
            `[epochs, K]` (such as `ProbabilityHistory.history`).
        true_probs: the true distribution, `K` probabilities.
        path: the PNG file to write (its folder is created if needed).

    Returns:
        `path`.
    """
    true_probs = check_probs(true_probs, "true_probs")
    learned = np.asarray(history, dtype=np.float64)
    if learned.ndim != 2 or learned.shape[0] < 1 or learned.shape[1] != len(true_probs):
        raise ValueError(
            "history must hold one row of probabilities per epoch, shape "
            f"[epochs >= 1, {len(true_probs)}] to match true_probs, received "
            f"history of shape {learned.shape}"
        )
    errors = (learned - true_probs).T  # [K, epochs]
    limit = float(np.max(np.abs(errors)))
    limit = limit if limit > 0 else 1.0
    epochs, categories = learned.shape
    figure = Figure(figsize=(max(6.0, min(14.0, 0.08 * epochs + 4.0)), 1.0 + 0.4 * categories))
    axes = figure.add_subplot()
    image = axes.imshow(
        errors,
        cmap="bwr",
        vmin=-limit,
        vmax=limit,
        aspect="auto",
        interpolation="nearest",
        origin="lower",
        extent=(0.5, epochs + 0.5, -0.5, categories - 0.5),
    )
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("category")
    axes.set_yticks(range(categories))
    axes.set_title("learned - true probability (red: too likely, blue: too rare)")
    figure.colorbar(image, ax=axes, label="error")
    figure.tight_layout()
    return save_figure(figure, path)
