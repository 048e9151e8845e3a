"""Training the toy GAN from a config: the library function behind the script.

`scripts/train_gan.py` (console entry point `keras-gumbel-train-gan`) only
parses flags into a `GANConfig` and calls `train_gan(config)`; everything it
does can be done from Python:

>>> from keras_gumbel.training import GANConfig, train_gan
>>> result = train_gan(GANConfig(seed=1, output_dir="runs/gan-1"))
>>> result.tv_distance
"""

import csv
import dataclasses
import io
import math
import numbers
import os
import time

import keras
import numpy as np

from keras_gumbel import schedules
from keras_gumbel.callbacks import ProbabilityHistory, TemperatureScheduler
from keras_gumbel.data import NUMBER_PROBS, check_probs, number_stream
from keras_gumbel.files import atomic_path, write_json, write_text
from keras_gumbel.models.gan import CategoricalGenerator, GumbelGAN, total_variation
from keras_gumbel.plots import plot_probability_errors

__all__ = ["GANConfig", "GANResult", "build_gan", "train_gan"]

TEMPERATURE_SCHEDULES = ("constant", "exponential", "linear", "cosine")
OPTIMIZERS = ("sgd", "adam")
LEARNING_RATE_DECAYS = ("cosine", "constant")

# The files train_gan writes into `output_dir`.
MODEL_FILE = "gan.keras"
PLOT_FILE = "probability_errors.png"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"


def _check_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, received {name}={value!r}")


def _check_positive(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, received {name}={value!r}")


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, received {name}={value!r}")


@dataclasses.dataclass
class GANConfig:
    """Everything that defines a toy-GAN run; the defaults are the measured
    ones of the README's "Demo 1" (SGD with cosine-decayed learning rates,
    batches of 1024, the post's constant temperature 0.001).

    Attributes:
        probs: the true distribution over the numbers `0 .. K-1`.
        epochs: training epochs (one column of the heatmap each).
        steps_per_epoch: discriminator updates per epoch.
        batch_size: real (and generated) samples per update.
        generator_steps: generator updates per discriminator update.
        temperature: the Gumbel-softmax temperature (the initial one if
            annealed).
        final_temperature: the temperature at the last step of an annealed
            `schedule`; unused by `"constant"`.
        schedule: the temperature schedule, one of `TEMPERATURE_SCHEDULES`,
            applied per step by `TemperatureScheduler` (changing once per
            `steps_per_execution` steps).
        hard: straight-through Gumbel-softmax (exact one-hot samples).
        optimizer: `"sgd"` (plain, no momentum) or `"adam"`, for both players.
        d_learning_rate: the discriminator's (initial) learning rate.
        g_learning_rate: the generator's (initial) learning rate.
        learning_rate_decay: `"cosine"` decays both learning rates to 0 over
            the run (per player update); `"constant"` keeps them.
        label_smoothing: smoothing of the real one-hots (see `number_stream`).
        seed: the run's seed (data stream and generator sampling); `None`
            draws one, reported in the result so the run can be repeated.
        output_dir: the folder for the model, heatmap and history; `None`
            writes nothing.
        jit_compile: compile the train step with XLA.
        steps_per_execution: train steps per compiled call.
        verbose: 0 silent, 1 Keras' progress bar and the final table, 2 one
            line per epoch and the final table.
    """

    probs: tuple = NUMBER_PROBS
    epochs: int = 30
    steps_per_epoch: int = 100
    batch_size: int = 1024
    generator_steps: int = 10
    temperature: float = 1e-3
    final_temperature: float | None = None
    schedule: str = "constant"
    hard: bool = False
    optimizer: str = "sgd"
    d_learning_rate: float = 0.5
    g_learning_rate: float = 0.5
    learning_rate_decay: str = "cosine"
    label_smoothing: float = 0.0
    seed: int | None = None
    output_dir: str | None = None
    jit_compile: bool = True
    steps_per_execution: int = 100
    verbose: int = 1

    def __post_init__(self):
        self.probs = tuple(float(p) for p in check_probs(self.probs))
        for name in ("epochs", "steps_per_epoch", "batch_size", "generator_steps",
                     "steps_per_execution"):
            _check_int(getattr(self, name), name)
        for name in ("temperature", "d_learning_rate", "g_learning_rate"):
            _check_positive(getattr(self, name), name)
        _check_choice(self.schedule, "schedule", TEMPERATURE_SCHEDULES)
        _check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        _check_choice(self.learning_rate_decay, "learning_rate_decay", LEARNING_RATE_DECAYS)
        _check_choice(self.verbose, "verbose", (0, 1, 2))
        if self.schedule == "constant":
            if self.final_temperature is not None:
                raise ValueError(
                    "final_temperature needs an annealing schedule "
                    f"{TEMPERATURE_SCHEDULES[1:]}, received schedule='constant', "
                    f"final_temperature={self.final_temperature!r}"
                )
        else:
            if self.final_temperature is None:
                raise ValueError(
                    f"schedule={self.schedule!r} needs final_temperature, received None"
                )
            _check_positive(self.final_temperature, "final_temperature")
        if self.seed is not None:
            _check_int(self.seed, "seed", minimum=0)
        for name in ("hard", "jit_compile"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"{name} must be True or False, received {name}={getattr(self, name)!r}"
                )

    @property
    def total_steps(self):
        return self.epochs * self.steps_per_epoch


@dataclasses.dataclass
class GANResult:
    """What `train_gan` returns.

    Attributes:
        model: the trained `GumbelGAN`.
        config: the config, with `seed` resolved.
        history: per-epoch logs (`d_loss`, `g_loss`, `tv_distance`,
            `prob_k`, and `temperature` if annealed), lists by name.
        probs_history: the learned probabilities after each epoch,
            `[epochs, K]`.
        probs: the final learned probabilities.
        tv_distance: their total variation distance to `config.probs`.
        seconds: the wall time of `fit`.
        files: the paths written, by kind (`model`, `plot`, `history_json`,
            `history_csv`); empty without `output_dir`.
    """

    model: GumbelGAN
    config: GANConfig
    history: dict
    probs_history: np.ndarray
    probs: np.ndarray
    tv_distance: float
    seconds: float
    files: dict


def _learning_rate(config, rate, updates):
    if config.learning_rate_decay == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=updates, alpha=0.0)
    return rate


def _optimizer(config, rate, updates):
    rate = _learning_rate(config, rate, updates)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate)
    return keras.optimizers.Adam(rate)


def temperature_schedule(config):
    """The `keras_gumbel.schedules` schedule of `config`, or `None` if the
    temperature is constant. Annealed schedules go from `temperature` to
    `final_temperature` over the run's `total_steps`."""
    initial, final, steps = config.temperature, config.final_temperature, config.total_steps
    if config.schedule == "constant":
        return None
    if config.schedule == "exponential":
        rate = max(0.0, math.log(initial / final)) / steps
        return schedules.ExponentialDecay(initial, rate=rate, minimum=min(initial, final))
    if config.schedule == "linear":
        return schedules.LinearDecay(initial, final, steps)
    return schedules.CosineDecay(initial, final, steps)


def build_gan(config):
    """The compiled `GumbelGAN` of `config` (whose `seed` must be set)."""
    generator = CategoricalGenerator(
        len(config.probs),
        temperature=config.temperature,
        hard=config.hard,
        seed=config.seed,
        name="generator",
    )
    model = GumbelGAN(
        generator,
        generator_steps=config.generator_steps,
        true_probs=config.probs,
        name="gumbel_gan",
    )
    model.compile(
        d_optimizer=_optimizer(config, config.d_learning_rate, config.total_steps),
        g_optimizer=_optimizer(
            config, config.g_learning_rate, config.total_steps * config.generator_steps
        ),
        jit_compile=config.jit_compile,
        steps_per_execution=min(config.steps_per_execution, config.steps_per_epoch),
    )
    return model


def format_probability_table(true_probs, learned_probs):
    """The final table: category, true p, learned p, error (learned - true)."""
    lines = [f"{'category':>8}  {'true p':>8}  {'learned p':>9}  {'error':>8}"]
    for k, (p, q) in enumerate(zip(true_probs, learned_probs)):
        lines.append(f"{k:>8}  {p:>8.4f}  {q:>9.4f}  {q - p:>+8.4f}")
    return "\n".join(lines)


def _history_csv(history):
    keys = list(history)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch"] + keys)
    epochs = len(next(iter(history.values()), []))
    for e in range(epochs):
        writer.writerow([e + 1] + [repr(float(history[k][e])) for k in keys])
    return out.getvalue()


def _write_outputs(result, folder):
    config = result.config
    files = {
        "model": os.path.join(folder, MODEL_FILE),
        "plot": os.path.join(folder, PLOT_FILE),
        "history_json": os.path.join(folder, HISTORY_JSON),
        "history_csv": os.path.join(folder, HISTORY_CSV),
    }
    plot_probability_errors(result.probs_history, config.probs, files["plot"])
    write_json(
        files["history_json"],
        {
            "config": dataclasses.asdict(config),
            "probs": result.probs.tolist(),
            "tv_distance": result.tv_distance,
            "seconds": result.seconds,
            "probs_history": result.probs_history.tolist(),
            "history": {k: [float(v) for v in vs] for k, vs in result.history.items()},
        },
    )
    write_text(files["history_csv"], _history_csv(result.history))
    with atomic_path(files["model"]) as tmp:
        result.model.save(tmp)
    return files


def train_gan(config):
    """Trains the toy GAN of `config` with `model.fit` and reports the result.

    Builds the `number_stream` of `config.probs` and a `GumbelGAN` with a
    `CategoricalGenerator`, trains it with a `ProbabilityHistory` (and a
    `TemperatureScheduler` if the temperature is annealed), prints the
    final table and total variation distance (unless `verbose=0`), and, if
    `config.output_dir` is set, writes into it the model (`gan.keras`), the
    heatmap of probability errors (`probability_errors.png`) and the
    per-epoch history (`history.json`, `history.csv`), each atomically.

    Args:
        config: a `GANConfig`.

    Returns:
        A `GANResult`.
    """
    if not isinstance(config, GANConfig):
        raise ValueError(f"config must be a GANConfig, received config={config!r}")
    if config.seed is None:
        config = dataclasses.replace(
            config, seed=int.from_bytes(os.urandom(4), "little") >> 1
        )
    model = build_gan(config)
    dataset = number_stream(
        config.probs,
        batch_size=config.batch_size,
        seed=config.seed,
        label_smoothing=config.label_smoothing,
    )
    recorder = ProbabilityHistory()
    callbacks = [recorder]
    schedule = temperature_schedule(config)
    if schedule is not None:
        callbacks.append(TemperatureScheduler(schedule))
    start = time.perf_counter()
    history = model.fit(
        dataset,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=callbacks,
        verbose=config.verbose,
        shuffle=False,
    )
    seconds = time.perf_counter() - start
    probs = keras.ops.convert_to_numpy(model.generator.probs).astype(np.float64)
    tv = float(keras.ops.convert_to_numpy(total_variation(probs, np.array(config.probs))))
    result = GANResult(
        model=model,
        config=config,
        history=dict(history.history),
        probs_history=np.array(recorder.history),
        probs=probs,
        tv_distance=tv,
        seconds=seconds,
        files={},
    )
    if config.verbose:
        print(format_probability_table(config.probs, probs))
        print(f"TV distance: {tv:.4f}  (seed {config.seed}, {seconds:.1f} s of training)")
    if config.output_dir is not None:
        result.files = _write_outputs(result, config.output_dir)
        if config.verbose:
            print(f"Wrote {', '.join(sorted(result.files.values()))}")
    return result
