"""The toy GAN's recipe: the library function behind `scripts/train_gan.py`.

`keras-gumbel-train-gan` only parses flags into a `GANConfig` and calls
`train_gan(config)`; everything it does can be done from Python:

>>> from keras_gumbel.recipes.gan import GANConfig, train_gan
>>> result = train_gan(GANConfig(seed=1, output_dir="runs/gan-1"))
>>> result.tv_distance

The temperature schedule is training configuration: `temperature_schedule`
builds it from the config and `train_gan` anneals the generator with a
`TemperatureScheduler`.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import dataclasses
import os

import keras
import numpy as np

from keras_gumbel._checks import check_bool, check_choice, check_int, check_positive
from keras_gumbel.apps.common.run import (
    TEMPERATURE_SCHEDULES,
    annealing,
    RunOptions,
    RunResult,
    HISTORY_CSV,
    HISTORY_JSON,
    begin_run,
    finish_run,
    model_scope,
    refusing,
    run_seed,
    save_model,
    start_outputs,
    timed_fit,
    write_history,
)
from keras_gumbel.apps.gan.callbacks import ProbabilityHistory
from keras_gumbel.apps.gan.data import (
    NUMBER_PROBS,
    check_label_smoothing,
    check_probs,
    number_stream,
)
from keras_gumbel.apps.gan.export import export_generator
from keras_gumbel.apps.gan.model import CategoricalGenerator, GumbelGAN, total_variation
from keras_gumbel.apps.gan.plots import plot_probability_errors
from keras_gumbel.callbacks import TemperatureScheduler

__all__ = [
    "GANConfig",
    "GANResult",
    "build_gan",
    "format_probability_table",
    "gan_dataset",
    "temperature_schedule",
    "train_gan",
]

OPTIMIZERS = ("sgd", "adam")
LEARNING_RATE_DECAYS = ("cosine", "constant")

# The files train_gan writes into `output_dir` (and the history files).
MODEL_FILE = "gan.keras"
PLOT_FILE = "probability_errors.png"
# Everything a run writes into `output_dir`: a new run there replaces these
# only with `overwrite` (`check_earlier_outputs`).
OUTPUTS = (MODEL_FILE, PLOT_FILE, HISTORY_JSON, HISTORY_CSV)


@dataclasses.dataclass(kw_only=True)
class GANConfig(RunOptions):
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
        jit_compile: compile the train step with XLA (True, False, or
            "auto": Keras' choice, no XLA on CPU-only machines).
        steps_per_execution: train steps per compiled call.

    And the `RunOptions` (`seed`: the data stream's and the generator's
    sampling streams derive from it; `output_dir`: model, heatmap and
    history; `export_dir`: through `keras_gumbel.export.export_generator`).
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
    jit_compile: bool | str = True
    steps_per_execution: int = 100

    def __post_init__(self):
        super().__post_init__()
        self.probs = tuple(float(p) for p in check_probs(self.probs))
        for name in ("epochs", "steps_per_epoch", "batch_size", "generator_steps",
                     "steps_per_execution"):
            check_int(getattr(self, name), name)
        for name in ("temperature", "d_learning_rate", "g_learning_rate"):
            check_positive(getattr(self, name), name)
        check_choice(self.schedule, "schedule", TEMPERATURE_SCHEDULES)
        check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        check_choice(self.learning_rate_decay, "learning_rate_decay", LEARNING_RATE_DECAYS)
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
            check_positive(self.final_temperature, "final_temperature")
        check_bool(self.hard, "hard")
        check_choice(self.jit_compile, "jit_compile", (True, False, "auto"))
        self.label_smoothing = check_label_smoothing(self.label_smoothing)

    @property
    def total_steps(self):
        return self.epochs * self.steps_per_epoch


@dataclasses.dataclass(kw_only=True)
class GANResult(RunResult):
    """What `train_gan` returns: the `RunResult` (`model`: the trained
    `GumbelGAN`; `history`: per-epoch `d_loss`, `g_loss`, `tv_distance`,
    `prob_k`, and `temperature` if annealed; `seconds`; `files`: `model`,
    `plot`, `history_json`, `history_csv`, `export`), and:

    Attributes:
        probs_history: the learned probabilities after each epoch,
            `[epochs, K]`.
        probs: the final learned probabilities.
        tv_distance: their total variation distance to `config.probs`.
    """

    probs_history: np.ndarray
    probs: np.ndarray
    tv_distance: float


def _optimizer(config, rate, updates):
    if config.learning_rate_decay == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=updates, alpha=0.0)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate)
    return keras.optimizers.Adam(rate)


def temperature_schedule(config):
    """The `keras_gumbel.schedules` schedule of `config`, or `None` if the
    temperature is constant. Annealed schedules go from `temperature` to
    `final_temperature` over the run's `total_steps` (`annealing`)."""
    return annealing(config.schedule, config.temperature, config.final_temperature,
                     config.total_steps)


def gan_dataset(config):
    """The real samples of `config`: its seeded `number_stream` (the run's
    `"data"` stream)."""
    return number_stream(
        config.probs,
        batch_size=config.batch_size,
        seed=run_seed(config, "data"),
        label_smoothing=config.label_smoothing,
    )


def build_gan(config):
    """The compiled `GumbelGAN` of `config` (whose `seed` must be set); the
    generator samples from the run's `"sampler"` stream."""
    generator = CategoricalGenerator(
        len(config.probs),
        temperature=config.temperature,
        hard=config.hard,
        seed=run_seed(config, "sampler"),
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


def _write_outputs(result):
    folder = result.config.output_dir
    files = {
        "plot": plot_probability_errors(
            result.probs_history, result.config.probs, os.path.join(folder, PLOT_FILE)
        ),
        **write_history(
            result,
            {
                "probs": result.probs.tolist(),
                "tv_distance": result.tv_distance,
                "probs_history": result.probs_history.tolist(),
            },
        ),
    }
    files["model"] = save_model(result.model, os.path.join(folder, MODEL_FILE))
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
    config, resume = begin_run(config, GANConfig, OUTPUTS)
    with model_scope(config), refusing():  # the model's own checks: usage errors
        model = build_gan(config)
    start_outputs(config, resume)
    recorder = ProbabilityHistory()
    callbacks = [recorder]
    schedule = temperature_schedule(config)
    if schedule is not None:
        callbacks.append(TemperatureScheduler(schedule))
    history, seconds = timed_fit(
        model, gan_dataset(config), config, callbacks, steps_per_epoch=config.steps_per_epoch
    )
    probs = keras.ops.convert_to_numpy(model.generator.probs).astype(np.float64)
    tv = float(keras.ops.convert_to_numpy(total_variation(probs, np.array(config.probs))))
    result = GANResult(
        model=model,
        config=config,
        history=history,
        seconds=seconds,
        probs_history=np.array(recorder.history),
        probs=probs,
        tv_distance=tv,
    )
    if config.verbose:
        print(format_probability_table(config.probs, probs))
        print(f"TV distance: {tv:.4f}  (seed {config.seed}, {seconds:.1f} s of training)")
    return finish_run(result, _write_outputs, export_generator)
