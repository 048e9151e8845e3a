"""Case 3: toy GAN, wall time and steps to reach a total variation distance.

The run is `keras_gumbel.recipes.gan.build_gan(GANConfig(...))` fitted on the
same `number_stream` as `train_gan` (the config's defaults: SGD 0.5 with
cosine decay over the run, batches of 1024, 10 generator updates per step,
temperature 0.001, XLA), with a callback that reads the `tv_distance`
metric after every `check_every` steps and stops at the first value below
the threshold, or when the wall-clock budget is spent. Steps are resolved
to `check_every`; wall time includes the XLA compilation of the first block;
`ms_per_step` is the median of the later blocks (none if one block was
enough); `initial_tv` is the uniform start's distance to the target.
"""

import time

import keras
import numpy as np

from keras_gumbel.data import NUMBER_PROBS
from keras_gumbel.recipes.gan import GANConfig, build_gan, gan_dataset

THRESHOLD = 0.02


def zipf(k, exponent=1.0):
    """`p_i ∝ 1 / (i + 1)^exponent`, `i = 0 .. k-1`."""
    weights = 1.0 / np.arange(1, k + 1) ** exponent
    return tuple((weights / weights.sum()).tolist())


class _StopAtDistance(keras.callbacks.Callback):
    def __init__(self, threshold, max_seconds, steps_per_epoch):
        super().__init__()
        self.threshold = threshold
        self.max_seconds = max_seconds
        self.steps_per_epoch = steps_per_epoch
        self.reached_step = None
        self.reached_seconds = None
        self.epoch_seconds = []

    def on_train_begin(self, logs=None):
        self.start = self.last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.epoch_seconds.append(now - self.last)
        self.last = now
        self.steps = (epoch + 1) * self.steps_per_epoch
        self.tv = float(logs["tv_distance"])
        if self.tv < self.threshold:
            self.reached_step, self.reached_seconds = self.steps, now - self.start
            self.model.stop_training = True
        elif now - self.start > self.max_seconds:
            self.model.stop_training = True


def time_to_distance(
    probs, name, max_steps=3000, check_every=100, max_seconds=60.0, threshold=THRESHOLD, seed=0
):
    """One row: steps and seconds to `TV < threshold`, or the steps run."""
    config = GANConfig(
        probs=probs,
        epochs=max_steps // check_every,
        steps_per_epoch=check_every,
        steps_per_execution=check_every,
        seed=seed,
        verbose=0,
    )
    model = build_gan(config)
    data = gan_dataset(config)
    stop = _StopAtDistance(threshold, max_seconds, check_every)
    start = time.perf_counter()
    model.fit(
        data,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[stop],
        verbose=0,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    # Steady state: blocks after the first, which includes the compilation.
    later = stop.epoch_seconds[1:]
    k = len(probs)
    row = {
        "case": "gan",
        "problem": name,
        "K": len(probs),
        "threshold": threshold,
        "reached": stop.reached_step is not None,
        "steps": stop.reached_step if stop.reached_step is not None else stop.steps,
        "seconds": round(stop.reached_seconds if stop.reached_step else seconds, 2),
        "initial_tv": round(0.5 * float(np.abs(np.asarray(probs) - 1.0 / k).sum()), 4),
        "final_tv": round(stop.tv, 4),
        "ms_per_step": (
            round(float(np.median(later)) * 1e3 / check_every, 3) if later else None
        ),
        "first_block_s": round(stop.epoch_seconds[0], 2),
        "max_steps": max_steps,
        "check_every": check_every,
    }
    row["result"] = (
        f"TV < {threshold} after {row['steps']} steps, {row['seconds']} s"
        if row["reached"]
        else f"not reached in {row['steps']} steps ({row['seconds']} s; TV "
        f"{row['initial_tv']} -> {row['final_tv']})"
    )
    return row


def run(ks=(5, 50, 500, 5000), max_steps=3000, max_seconds=60.0, seed=0):
    """The default problem, then Zipf targets of `ks` categories."""
    rows = [time_to_distance(NUMBER_PROBS, "default", max_steps, 100, max_seconds, seed=seed)]
    for k in ks:
        # Large K: check more often so the time budget is kept.
        check_every = 100 if k <= 50 else (20 if k <= 500 else 5)
        rows.append(
            time_to_distance(zipf(k), f"zipf K={k}", max_steps, check_every, max_seconds, seed=seed)
        )
    return rows
