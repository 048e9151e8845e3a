"""Case 2 and 4: discrete VAE training throughput, Keras against PyTorch.

`keras_gumbel.models.DiscreteVAE` trained with `model.fit` (batch 100, Adam,
the annealing `TemperatureScheduler` callback) against the PyTorch
re-implementation of the tutorial in `benchmarks/torch_vae.py` (same sizes,
loss, optimizer and schedule). Each round runs a block of steps of every
trainer in turn (A/B/A/B), so the drift of a shared machine hits all alike;
the figure is the median over rounds of seconds per step. torch runs at its
default thread count and at one thread; `speed_vs_torch` divides by the
faster of the two.

A block's time runs from the end of its first step to the end of its last,
so it excludes `fit`'s set-up and the first batch's pipeline start, and
includes the callbacks and the input pipeline of every other step.
"""

import statistics
import time

import keras
import numpy as np

from benchmarks.common import optional_torch, torch_default_threads
from keras_gumbel.data import images_dataset, mnist_arrays
from keras_gumbel.models import DiscreteVAE

BATCH_SIZE = 100


def mnist_images(source, split="train"):
    """uint8 MNIST images `[N, 784]` of `source` (a path or "bundled")."""
    return mnist_arrays(split, source)[0]


def dense_flops_per_step(batch_size=BATCH_SIZE, model=None):
    """Multiply-add FLOPs of the dense layers in one training step: forward
    2 * B * sum(in * out), backward twice that (input and weight gradients)."""
    model = model or DiscreteVAE()
    # The kernels of the encoder's and the decoder's dense layers (both are
    # built when the model is made).
    macs = sum(
        int(np.prod(layer.kernel.shape))
        for network in (model.encoder, model.decoder)
        for layer in network.layers
        if isinstance(layer, keras.layers.Dense)
    )
    return 3 * 2 * batch_size * macs


class _StepTimer(keras.callbacks.Callback):
    """Seconds from the end of the first batch to the end of the epoch."""

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def keras_trainer(images, jit_compile="auto", seed=0, batch_size=BATCH_SIZE):
    """`run(steps)`: seconds per step of `DiscreteVAE.fit` over `steps` steps."""
    vae = DiscreteVAE(seed=seed)
    vae.compile(jit_compile=jit_compile)
    dataset = images_dataset(images, batch_size, shuffle=True, seed=seed).repeat()
    scheduler = vae.temperature_scheduler()
    timer = _StepTimer()

    def run(steps):
        vae.fit(
            dataset,
            epochs=1,
            steps_per_epoch=steps,
            verbose=0,
            callbacks=[scheduler, timer],
            shuffle=False,
        )
        return timer.seconds / (steps - 1)

    run(3)  # traces (and XLA-compiles) the train function
    run.model = vae
    return run


def torch_trainer(images, threads=None, seed=0, batch_size=BATCH_SIZE):
    """`run(steps)`: seconds per step of the PyTorch reference at `threads`
    torch threads (`None`: torch's default), or `None` without torch."""
    torch = optional_torch()
    if torch is None:
        return None
    from benchmarks import torch_vae

    threads = threads or torch_default_threads()
    _, _, step = torch_vae.make_trainer(
        np.asarray(images, np.float32) / 255.0, batch_size=batch_size, seed=seed
    )

    def run(steps):
        torch.set_num_threads(threads)
        step()
        start = time.perf_counter()
        for _ in range(steps - 1):
            step()
        return (time.perf_counter() - start) / (steps - 1)

    run(3)
    return run


def throughput(images, rounds=5, steps=40, jit=True):
    """Rows of median steps/s of each trainer, interleaved, with the ratio
    to the PyTorch reference."""
    trainers = {"keras_fit": keras_trainer(images)}
    if jit:
        trainers["keras_fit_xla"] = keras_trainer(images, jit_compile=True)
    if optional_torch() is not None:
        # On a shared machine OpenMP's spinning threads can make torch's
        # default slower than one thread: the ratio uses the faster.
        trainers["torch"] = torch_trainer(images)
        trainers["torch_1thread"] = torch_trainer(images, threads=1)
    times = {name: [] for name in trainers}
    for _ in range(rounds):
        for name, run in trainers.items():
            times[name].append(run(steps))
    medians = {name: statistics.median(t) for name, t in times.items()}
    flops = dense_flops_per_step()
    torch_times = [v for k, v in medians.items() if k.startswith("torch")]
    rows = []
    for name, seconds in medians.items():
        row = {
            "case": "vae",
            "impl": name,
            "batch_size": BATCH_SIZE,
            "steps_per_s": round(1 / seconds, 2),
            "ms_per_step": round(seconds * 1e3, 2),
            "dense_gflop_per_s": round(flops / seconds / 1e9, 1),
            "rounds": rounds,
            "steps_per_round": steps,
            "spread_ms": [round(min(times[name]) * 1e3, 2), round(max(times[name]) * 1e3, 2)],
        }
        if torch_times:
            row["speed_vs_torch"] = round(min(torch_times) / seconds, 3)
        rows.append(row)
    return rows


def epoch_scaling(images, sizes=(1000, 6000, 20000, 60000), seed=0):
    """Case 4: seconds of one `fit` epoch as the training set grows (the
    same model, traced once; batch 100)."""
    sizes = [n for n in sizes if n <= len(images)]
    vae = DiscreteVAE(seed=seed)
    vae.compile()
    warm_up = images_dataset(images[:300], BATCH_SIZE, seed=seed)
    vae.fit(warm_up, epochs=1, verbose=0, shuffle=False)
    rows = []
    for n in sizes:
        dataset = images_dataset(images[:n], BATCH_SIZE, shuffle=True, seed=seed)
        start = time.perf_counter()
        vae.fit(
            dataset, epochs=1, verbose=0, callbacks=[vae.temperature_scheduler()], shuffle=False
        )
        seconds = time.perf_counter() - start
        rows.append(
            {
                "case": "vae_epoch_scaling",
                "images": n,
                "steps": -(-n // BATCH_SIZE),
                "epoch_s": round(seconds, 3),
                "ms_per_step": round(seconds * 1e3 / -(-n // BATCH_SIZE), 2),
            }
        )
    return rows
