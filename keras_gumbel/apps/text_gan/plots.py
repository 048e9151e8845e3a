"""The sequence GAN's picture: NLL_oracle and NLL_gen against training step."""

import numpy as np
from matplotlib.figure import Figure

from keras_gumbel.apps.common.plots import save_figure

__all__ = ["plot_nll_curves"]


def plot_nll_curves(history, steps_per_epoch, mle_epochs, oracle_entropy, path):
    """Draws `nll_oracle` and `nll_gen` of `history` (per-epoch lists, NaN
    where an epoch was not scored) against the training step, the MLE and
    adversarial phases shaded apart and the oracle's entropy rate (the
    floor of `nll_oracle`) as a dashed line, as a PNG. Returns `path`."""
    curves = {k: np.asarray(history.get(k, []), dtype=np.float64) for k in ("nll_oracle", "nll_gen")}
    if not any(np.isfinite(v).any() for v in curves.values()):
        raise ValueError("history must hold scored epochs (nll_oracle, nll_gen), received keys "
                         f"{sorted(history)}")
    figure = Figure(figsize=(7.0, 5.0))
    axes = figure.add_subplot()
    labels = {"nll_oracle": "NLL_oracle (quality: the oracle's NLL of generated tokens)",
              "nll_gen": "NLL_gen (coverage: the generator's NLL of held-out data)"}
    last = 0
    for key, values in curves.items():
        steps = np.arange(1, len(values) + 1) * steps_per_epoch
        scored = np.isfinite(values)
        axes.plot(steps[scored], values[scored], marker="o", markersize=3, label=labels[key])
        last = max(last, len(values) * steps_per_epoch)
    boundary = mle_epochs * steps_per_epoch
    if 0 < boundary:
        axes.axvspan(0, boundary, color="0.92", zorder=0)
        axes.text(boundary / 2, 0.98, "MLE", transform=axes.get_xaxis_transform(), ha="center",
                  va="top")
    if boundary < last:
        axes.text((boundary + last) / 2, 0.98, "adversarial", transform=axes.get_xaxis_transform(),
                  ha="center", va="top")
        axes.axvline(boundary, color="0.5", linewidth=1)
    axes.axhline(oracle_entropy, color="black", linestyle="--", linewidth=1,
                 label=f"oracle entropy rate {oracle_entropy:.3f}")
    axes.set_xlabel("training step")
    axes.set_ylabel("nats per token")
    axes.set_xlim(0, max(last, 1))
    axes.grid(alpha=0.3)
    # Below the axes: the curves move anywhere in the plot.
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    axes.set_title("Sequence GAN on the synthetic oracle")
    figure.tight_layout()
    return save_figure(figure, path)
