"""The discrete VAE's configuration: `VAEConfig`, its named recipes
(`PRESETS`) and `VAEResult`, what `train_vae` returns."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import dataclasses

from keras_gumbel import ops as gumbel_ops
from keras_gumbel._checks import (
    check_bool,
    check_choice,
    check_int,
    check_nonnegative,
    check_optional_int,
    check_positive,
    check_units,
    fail,
)
from keras_gumbel.apps.common.mnist import BINARIZE_MODES, check_mnist_source
from keras_gumbel.apps.common.run import RunOptions, RunResult

__all__ = ["PRESETS", "VAEConfig", "VAEResult"]

# The files train_vae writes into `output_dir` (and the history files,
# besides the reconstructions_epoch_NNN.png of at most 6 epochs, the `logs/` of
# TensorBoard and, while a run is unfinished, the `backup/` of
# BackupAndRestore).
MODEL_FILE = "vae.keras"
SAMPLES_FILE = "samples.png"
LOSS_FILE = "loss_curves.png"
LOGS_DIR = "logs"
RECONSTRUCTIONS = "reconstructions_epoch_*.png"
# Everything a run writes into `output_dir` (but its backup): a new run
# there replaces these only with `overwrite` (`check_earlier_outputs`).
OUTPUTS = (MODEL_FILE, SAMPLES_FILE, LOSS_FILE, "history.json", "history.csv",
           RECONSTRUCTIONS, LOGS_DIR)
ESTIMATOR_CHOICES = gumbel_ops.ESTIMATORS
OPTIMIZER_CHOICES = ("adam", "adamw", "radam")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")

# The named recipes of `VAEConfig.from_preset` and `--preset`: the fields
# each sets (any of them can still be overridden). The ONE place to update.
PRESETS = {
    # The ReinMax protocol (issue 13): the default 30 x 10 model, MNIST grey
    # levels, 200 epochs of batch 100; ReinMax at a constant temperature
    # 1.3, AdamW (decoupled weight decay 0.03, on every weight) with a cosine
    # decay of the learning rate from 1e-3 to 0 over the run, an exponential
    # moving average of the weights (momentum 0.999) for evaluation and the
    # final model, the test set evaluated every 10 epochs (the final
    # evaluation always happens), 20 steps per compiled call (the same
    # numbers, less time per step). The protocol is limited by overfitting,
    # not by optimisation: weight decay and the average gain ~0.7 nats over
    # Adam alone. Measured: see the README's "State of the art".
    "best": {
        "estimator": "reinmax",
        "temperature": 1.3,
        "min_temperature": 1.3,
        "anneal_rate": 0.0,
        "optimizer": "adamw",
        "weight_decay": 0.03,
        "learning_rate": 1e-3,
        "learning_rate_schedule": "cosine",
        "warmup_epochs": 0,
        "ema": 0.999,
        "batch_size": 100,
        "epochs": 200,
        "validation_freq": 10,
        "steps_per_execution": 20,
    },
    # Time to quality (issue 23): the protocol's 100-nat mark within 8
    # minutes of the whole command on 2 CPU cores. The recipe of "best"
    # compressed to 90 epochs at twice the peak learning rate (after a
    # 1-epoch warm-up), which the 30-epoch pilots found best at a short
    # budget (docs/vae_protocol.md). Measured: 98.87 / 98.58 / 99.61 on
    # seeds 0, 1, 2 in 5.2-5.6 minutes.
    "fast": {"learning_rate": 2e-3, "warmup_epochs": 1, "epochs": 90},
}
# Each preset but "best" is "best" with the fields it changes.
PRESETS.update({name: {**PRESETS["best"], **fields} for name, fields in PRESETS.items()
                if name != "best"})


@dataclasses.dataclass(kw_only=True)
class VAEConfig(RunOptions):
    """Everything that defines a discrete-VAE run; the defaults are the
    PyTorch tutorial's (with its bugs fixed, see `DiscreteVAE`).

    Attributes:
        epochs: training epochs.
        batch_size: images per step (the global batch under a strategy).
        learning_rate: the optimizer's (peak) learning rate.
        optimizer: `"adam"`, `"adamw"` (decoupled weight decay) or
            `"radam"` (`keras_gumbel.RAdam`, Rectified Adam, the optimizer
            of the ReinMax paper's settings).
        weight_decay: AdamW's weight decay (`None`: Keras' default, 0.004);
            only with `optimizer="adamw"`.
        learning_rate_schedule: `"constant"`, or `"cosine"`: a cosine decay
            to 0 at the run's last step (`learning_rate_schedule`).
        warmup_epochs: a linear warm-up from 0 to `learning_rate` over the
            first epochs (then constant, or the cosine decay over the rest).
        ema: `None`, or the momentum in (0, 1) of an exponential moving
            average of the weights (Keras' `use_ema`/`ema_momentum`): the
            evaluations during fit use the averaged weights
            (`keras.callbacks.SwapEMAWeights`), and fit ends by assigning them
            to the model, so the final evaluation, the saved model and the
            export use them. The backup keeps the average (an optimizer
            variable), so a resumed run continues it.
        validation_freq: evaluate on the test set every N epochs during fit
            (the epochs between log NaN for `val_*`); the final evaluation
            always happens.
        latent_dim, num_categories: the latent code, 30 variables of 10
            classes.
        encoder_units, decoder_units: hidden layer sizes (`mlp_encoder`,
            `mlp_decoder`).
        temperature: the sampler's initial temperature.
        min_temperature, anneal_rate, anneal_every: the annealing (training
            configuration, not the model's): `max(min_temperature,
            temperature * exp(-anneal_rate * t))` every `anneal_every`
            global steps `t` (`temperature_schedule`).
        hard: straight-through samples in training.
        estimator: the gradient estimator (`keras_gumbel.ops.ESTIMATORS`);
            `None` means straight-through if `hard` else relaxed.
        samples: Gumbel draws of `"gumbel_rao"`.
        trainable_temperature: learn the temperature instead of annealing it
            (kept above the sampler's own `min_temperature`, not the
            annealing floor).
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
        restart: delete the backup of an unfinished run in `output_dir`
            and start afresh (without it a run resumes from a backup of the
            same configuration and refuses another's).

    And the `RunOptions` (`seed`: the root of the initializers', sampler's,
    shuffling's, evaluation's, pictures' and importance samples' streams;
    `output_dir`: pictures, history, model, TensorBoard logs and the
    resumable backup; `export_dir`: through `keras_gumbel.export.export_vae`).
    A backup resumes a run whose fields are the same but for
    `OUTPUT_FIELDS` (what and where it reports, the final evaluation).
    """

    OUTPUT_FIELDS = RunOptions.OUTPUT_FIELDS + (
        "restart", "log_likelihood_samples", "log_likelihood_images")

    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float | None = None
    learning_rate_schedule: str = "constant"
    warmup_epochs: int = 0
    ema: float | None = None
    validation_freq: int = 1
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
    restart: bool = False

    def __post_init__(self):
        super().__post_init__()
        for name in ("epochs", "batch_size", "latent_dim", "anneal_every", "samples",
                     "steps_per_execution", "log_likelihood_images"):
            check_int(getattr(self, name), name)
        check_int(self.log_likelihood_samples, "log_likelihood_samples", minimum=0)
        check_optional_int(self.train_images, "train_images")
        check_int(self.num_categories, "num_categories", minimum=2)
        for name in ("learning_rate", "temperature", "min_temperature"):
            check_positive(getattr(self, name), name)
        check_nonnegative(self.anneal_rate, "anneal_rate")
        check_int(self.validation_freq, "validation_freq")
        check_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        check_choice(self.optimizer, "optimizer", OPTIMIZER_CHOICES)
        check_choice(self.learning_rate_schedule, "learning_rate_schedule",
                     LEARNING_RATE_SCHEDULES)
        if self.warmup_epochs > self.epochs or (
                self.learning_rate_schedule == "cosine" and self.warmup_epochs == self.epochs):
            fail("warmup_epochs", f"an integer < epochs={self.epochs} (<= with a constant "
                 "learning rate)", self.warmup_epochs)
        if self.weight_decay is not None:
            if self.optimizer != "adamw":
                fail("weight_decay", "None unless optimizer='adamw'", self.weight_decay)
            check_nonnegative(self.weight_decay, "weight_decay")
        if self.ema is not None:
            check_positive(self.ema, "ema")
            if self.ema >= 1:
                fail("ema", "None or a momentum in (0, 1)", self.ema)
        if self.estimator is not None:
            check_choice(self.estimator, "estimator", ESTIMATOR_CHOICES)
        check_choice(self.binarize, "binarize", BINARIZE_MODES)
        self.source = check_mnist_source(self.source)
        check_choice(self.jit_compile, "jit_compile", ("auto", True, False))
        check_bool(self.hard, "hard")
        check_bool(self.trainable_temperature, "trainable_temperature")
        check_bool(self.restart, "restart")
        # The sampler's own checks, so a bad combination stops before the
        # data loads (the rest of the model's are made by building it first).
        estimator = gumbel_ops.resolve_estimator(self.estimator, self.hard)
        gumbel_ops.validate_samples(self.samples, estimator)
        if self.estimator == "reinmax":
            # Checked here too, so a bad run stops before its data loads.
            gumbel_ops.check_reinmax_temperature(self.temperature)
            gumbel_ops.check_reinmax_temperature(self.min_temperature, "min_temperature")
        self.encoder_units = check_units(self.encoder_units, "encoder_units")
        self.decoder_units = check_units(self.decoder_units, "decoder_units")


    @classmethod
    def from_preset(cls, preset, **overrides):
        """The config of the named recipe of `PRESETS` (`"best"`, `"fast"`), with any
        field overridden by `overrides`:
        `VAEConfig.from_preset("best", seed=1, source="mnist.npz")`."""
        check_choice(preset, "preset", tuple(PRESETS))
        return cls(**{**PRESETS[preset], **overrides})


@dataclasses.dataclass(kw_only=True)
class VAEResult(RunResult):
    """What `train_vae` returns: the `RunResult` (`model`: the trained
    `DiscreteVAE`; `history`: per-epoch `loss`, `reconstruction`, `kl`,
    `temperature`, and `val_*` for the test set; `seconds`; `files`), and:

    Attributes:
        source: the MNIST source actually used (`"bundled"`, `"tfds"` or a
            path).
        train: the final evaluation on the training set (`loss`,
            `hard_loss`, ...: negative ELBO, relaxed and hard).
        test: the same on the test set, plus `log_likelihood` (the
            importance-weighted estimate of `log p(x)`) if asked for.
        steps_per_second: training steps per second of `fit` (including the
            per-epoch evaluation and pictures).
    """

    source: str
    train: dict
    test: dict
    steps_per_second: float
