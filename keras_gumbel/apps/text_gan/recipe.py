"""The sequence GAN's recipe: the library function behind
`keras-gumbel-train-text-gan` (scripts/train_text_gan.py).

>>> from keras_gumbel.recipes.text_gan import TextGANConfig, train_text_gan
>>> result = train_text_gan(TextGANConfig(seed=0, output_dir="runs/text-gan-0"))
>>> result.results["nll_oracle"], result.results["nll_gen"]

A run builds the synthetic-oracle benchmark (`oracle.oracle_data`: the
oracle of `oracle_seed`, 10,000 training and 10,000 held-out sequences),
then trains a `SequenceGAN` in one `model.fit`: `mle_epochs` epochs of
maximum-likelihood pre-training of the generator, then
`adversarial_epochs` epochs of Gumbel-softmax adversarial training, the
temperature annealed by `TemperatureScheduler` from `temperature` to
`final_temperature` over the adversarial steps. An epoch is one pass over
the training sequences (`sequences // batch_size` steps). After every
`eval_every` epochs (and at the end of each phase) `OracleEvaluation`
scores the generator: `nll_oracle` on `eval_sequences` generated
sequences, `nll_gen` on the held-out ones; both go into the history.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_gumbel._checks import check_bool, check_choice, check_int, check_nonnegative, check_positive
from keras_gumbel.apps.common.callbacks import EpochLog
from keras_gumbel.apps.common.distribute import BackupAndRestore, is_chief
from keras_gumbel.apps.common.files import atomic_path, write_json
from keras_gumbel.apps.common.run import (
    BACKUP_DIR,
    EPOCH_LOG,
    HISTORY_CSV,
    HISTORY_JSON,
    TEMPERATURE_SCHEDULES,
    RunOptions,
    RunResult,
    annealing,
    begin_run,
    finish_run,
    merge_history,
    model_scope,
    refusing,
    run_seed,
    save_model,
    start_backup,
    start_outputs,
    timed_fit,
    write_history,
)
from keras_gumbel.apps.common.seeds import derive_seed
from keras_gumbel.apps.text_gan.export import export_generator
from keras_gumbel.apps.text_gan.model import (SequenceDiscriminator, SequenceGAN,
                                              check_ema_momentum, check_real_input)
from keras_gumbel.apps.text_gan.oracle import (
    START_TOKEN,
    language_model,
    oracle_data,
    sample_sequences,
    sequence_nll,
)
from keras_gumbel.apps.text_gan.plots import plot_nll_curves
from keras_gumbel.callbacks import TemperatureScheduler
from keras_gumbel.ops import ESTIMATORS, check_reinmax_temperature

__all__ = ["OracleEvaluation", "TextGANConfig", "TextGANResult", "build_gan", "sequence_stream",
           "train_text_gan"]

ORACLE_FILE = "oracle.keras"
SAMPLES_FILE = "samples.npy"
GENERATOR_FILE = "generator.keras"
RESULTS_FILE = "results.json"
CURVES_FILE = "nll_curves.png"
OUTPUTS = (ORACLE_FILE, SAMPLES_FILE, GENERATOR_FILE, RESULTS_FILE, CURVES_FILE, HISTORY_JSON,
           HISTORY_CSV)


@dataclasses.dataclass(kw_only=True)
class TextGANConfig(RunOptions):
    """Everything that defines a sequence-GAN run on the oracle benchmark.

    Attributes:
        oracle_seed: the benchmark's seed (the oracle's weights and its
            data); 0 is the benchmark every figure uses.
        vocab_size, sequence_length: the benchmark's (5,000 and 20).
        sequences: training sequences, and as many held-out ones (10,000).
        embedding, hidden: the generator's embedding and LSTM sizes.
        d_embedding, filters, filter_sizes, dropout: the discriminator's.
        batch_size: sequences per step.
        mle_epochs, adversarial_epochs: epochs of each phase (an epoch is
            `sequences // batch_size` steps).
        mle_learning_rate: Adam's, in pre-training.
        g_learning_rate, d_learning_rate: Adam's, in adversarial training.
        estimator: the Gumbel-softmax gradient estimator (`ops.ESTIMATORS`):
            `"relaxed"` shows the discriminator relaxed one-hots, the others
            exact one-hots (`SequenceGAN`).
        d_steps: discriminator steps per generator step (RelGAN: 5).
        clip_norm: `None`, or the global norm each adversarial gradient
            (the generator's, the discriminator's) is clipped to (RelGAN: 5).
        ema_momentum: the momentum of the moving average of the
            generator's weights that is scored, saved and exported (0: the
            last iterate; `SequenceGAN`).
        real_input: what the discriminator sees of real sequences under the
            relaxed estimator (`REAL_INPUTS`): `"onehot"`, or
            `"conditional"`, relaxed one-hots as soft as the generated ones
            (`SequenceGAN`).
        mle_weight: the weight of the MLE term in the generator's
            adversarial loss (0: the plain GAN loss).
        temperature, final_temperature, schedule: the Gumbel-softmax
            temperature from `temperature` to `final_temperature` over the
            adversarial steps (one of `TEMPERATURE_SCHEDULES`).
        eval_every: score the generator every this many epochs (and at the
            end of each phase).
        eval_sequences: generated sequences scored for `nll_oracle`
            (10,000, the benchmark's).
        restart: delete the backup of an unfinished run and start afresh.
        jit_compile, steps_per_execution: as `keras.Model.compile`'s.
    """

    OUTPUT_FIELDS = RunOptions.OUTPUT_FIELDS + ("restart",)

    # The defaults are the best recipe measured (docs/text_gan.md): MLE
    # stops before it overfits (NLL_gen is lowest after 5-6 epochs), the
    # generator learns 10x faster than the discriminator in adversarial
    # training with the MLE term beside the adversarial loss, at a constant
    # temperature 1 (annealing towards 0 undid the early gains).
    oracle_seed: int = 0
    vocab_size: int = 5000
    sequence_length: int = 20
    sequences: int = 10_000
    embedding: int = 32
    hidden: int = 32
    d_embedding: int = 64
    filters: int = 64
    filter_sizes: tuple = (2, 3, 4, 5)
    dropout: float = 0.25
    batch_size: int = 64
    mle_epochs: int = 6
    adversarial_epochs: int = 10
    mle_learning_rate: float = 1e-2
    g_learning_rate: float = 1e-3
    d_learning_rate: float = 1e-4
    estimator: str = "relaxed"
    d_steps: int = 1
    clip_norm: float | None = None
    ema_momentum: float = 0.0
    real_input: str = "onehot"
    mle_weight: float = 1.0
    temperature: float = 1.0
    final_temperature: float = 0.01
    schedule: str = "constant"
    eval_every: int = 2
    eval_sequences: int = 10_000
    restart: bool = False
    jit_compile: bool | str = False
    steps_per_execution: int = 1

    def __post_init__(self):
        super().__post_init__()
        check_int(self.oracle_seed, "oracle_seed", minimum=0)
        check_int(self.vocab_size, "vocab_size", minimum=2)
        check_int(self.sequence_length, "sequence_length", minimum=2)
        for name in ("sequences", "embedding", "hidden", "d_embedding", "filters", "batch_size",
                     "eval_every", "eval_sequences", "steps_per_execution", "d_steps"):
            check_int(getattr(self, name), name)
        check_int(self.mle_epochs, "mle_epochs", minimum=0)
        check_int(self.adversarial_epochs, "adversarial_epochs", minimum=0)
        if self.mle_epochs + self.adversarial_epochs == 0:
            raise ValueError("mle_epochs + adversarial_epochs must be >= 1, received "
                             "mle_epochs=0, adversarial_epochs=0")
        if self.batch_size > self.sequences:
            raise ValueError(f"batch_size must be <= sequences={self.sequences}, received "
                             f"batch_size={self.batch_size!r}")
        self.filter_sizes = tuple(check_int(w, "filter_sizes") for w in self.filter_sizes)
        if not self.filter_sizes or max(self.filter_sizes) > self.sequence_length:
            raise ValueError(f"filter_sizes must be widths in [1, sequence_length={self.sequence_length}], "
                             f"received filter_sizes={self.filter_sizes!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not (
                0 <= self.dropout < 1):
            raise ValueError(f"dropout must be a number in [0, 1), received dropout={self.dropout!r}")
        for name in ("mle_learning_rate", "g_learning_rate", "d_learning_rate", "temperature",
                     "final_temperature"):
            check_positive(getattr(self, name), name)
        check_nonnegative(self.mle_weight, "mle_weight")
        if self.clip_norm is not None:
            check_positive(self.clip_norm, "clip_norm")
        check_ema_momentum(self.ema_momentum)
        check_choice(self.schedule, "schedule", TEMPERATURE_SCHEDULES)
        check_choice(self.estimator, "estimator", ESTIMATORS)
        check_real_input(self.real_input, self.estimator)
        if self.estimator == "reinmax":
            for name in ("temperature", "final_temperature"):
                check_reinmax_temperature(getattr(self, name), name)
        check_bool(self.restart, "restart")
        check_choice(self.jit_compile, "jit_compile", (True, False, "auto"))
        if self.strategy != "default":
            raise ValueError("the sequence GAN runs on one device, received "
                             f"strategy={self.strategy!r}; allowed: 'default'")

    @property
    def steps_per_epoch(self):
        return self.sequences // self.batch_size

    @property
    def epochs(self):
        return self.mle_epochs + self.adversarial_epochs


@dataclasses.dataclass(kw_only=True)
class TextGANResult(RunResult):
    """What `train_text_gan` returns: the `RunResult` (`model`, the trained
    `SequenceGAN`; `config`, `history`, `seconds`: the wall time of `fit`;
    `files`) and `results`, the record written to `results.json`; also
    `data`, the benchmark it was scored on (`oracle.OracleData`), and
    `samples`, the scored sequences (`samples.npy`)."""

    results: dict


def sequence_stream(sequences, batch_size, seed, start_epoch=0):
    """An endless `tf.data` stream of int32 batches `[batch_size, T]` of
    `sequences`: pass `e` over them (`len // batch_size` batches, the rest
    dropped) permuted with a stateless seed of `(seed, e)` alone, from pass
    `start_epoch` on, so a resumed run sees the batches of an uninterrupted
    one."""
    sequences = np.asarray(sequences, np.int32)
    count = len(sequences) // batch_size
    data = tf.constant(sequences)
    base = tf.constant([derive_seed(seed, "stream") % 2**31, 0], tf.int64)

    def one_pass(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(len(sequences)),
                                                         seed=base + tf.stack([0, epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order[: count * batch_size],
                                                             [count, batch_size]))

    stream = tf.data.Dataset.counter(start_epoch).flat_map(one_pass)
    return stream.map(lambda index: tf.gather(data, index),
                      num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


class OracleEvaluation(keras.callbacks.Callback):
    """Scores the generator at the end of every `every`-th epoch, of the
    last epoch of the MLE phase and of the run: `nll_oracle` (the oracle's
    mean per-token NLL of `n` sequences drawn from the generator, with a
    seed of `(seed, epoch)`) and `nll_gen` (the generator's of the held-out
    sequences), written into the epoch's logs (so History, EpochLog and
    the progress bar show them; NaN in the epochs not scored)."""

    def __init__(self, oracle, held_out, n, seed, every, mle_epochs, epochs):
        super().__init__()
        self.oracle, self.held_out, self.n, self.seed = oracle, held_out, n, seed
        self.every, self.mle_epochs, self.epochs = every, mle_epochs, epochs

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if logs is None:
            return
        if not (done % self.every == 0 or done in (self.mle_epochs, self.epochs)):
            # NaN, not absent: every epoch's logs keep the same keys.
            logs.update(nll_oracle=float("nan"), nll_gen=float("nan"))
            return
        generator = self.model.sampling_generator
        samples = sample_sequences(generator, self.n, self.held_out.shape[1],
                                   derive_seed(self.seed, f"epoch-{done}"))
        logs["nll_oracle"] = sequence_nll(self.oracle, samples)
        logs["nll_gen"] = sequence_nll(generator, self.held_out)


def build_gan(config):
    """The compiled `SequenceGAN` of `config` (whose `seed` is set)."""
    generator = language_model(
        config.vocab_size, config.embedding, config.hidden, name="generator",
        initializer=lambda name: keras.initializers.GlorotUniform(
            seed=derive_seed(run_seed(config, "generator"), name) % 2**31))
    discriminator = SequenceDiscriminator(
        config.vocab_size, config.d_embedding, config.filter_sizes, config.filters,
        config.dropout, seed=run_seed(config, "discriminator") % 2**31, name="discriminator")
    gan = SequenceGAN(generator, discriminator, config.sequence_length,
                      mle_steps=config.mle_epochs * config.steps_per_epoch,
                      mle_weight=config.mle_weight, temperature=config.temperature,
                      start_token=START_TOKEN, seed=run_seed(config, "sampler"),
                      estimator=config.estimator, d_steps=config.d_steps, ema_momentum=config.ema_momentum,
                      real_input=config.real_input)
    gan.compile(keras.optimizers.Adam(config.mle_learning_rate),
                keras.optimizers.Adam(config.g_learning_rate, global_clipnorm=config.clip_norm),
                keras.optimizers.Adam(config.d_learning_rate, global_clipnorm=config.clip_norm),
                jit_compile=config.jit_compile,
                steps_per_execution=min(config.steps_per_execution, config.steps_per_epoch))
    return gan


def _callbacks(config, gan, data):
    callbacks = []
    steps = max(config.adversarial_epochs * config.steps_per_epoch, 1)
    schedule = annealing(config.schedule, config.temperature, config.final_temperature, steps)
    if schedule is not None:
        callbacks.append(TemperatureScheduler(schedule, layers=[gan.sampler], update="batch"))
    callbacks.append(OracleEvaluation(data.oracle, data.held_out, config.eval_sequences,
                                      run_seed(config, "evaluation"), config.eval_every,
                                      config.mle_epochs, config.epochs))
    if config.output_dir is not None:
        backup = os.path.join(config.output_dir, BACKUP_DIR)
        if is_chief():
            callbacks.append(EpochLog(os.path.join(backup, EPOCH_LOG)))
        # Last: a backup of epoch N means everything of epoch N is written.
        callbacks.append(BackupAndRestore(backup))
    return callbacks


def _at_epoch(history, key, epoch):
    values = history.get(key, [])
    return float(values[epoch - 1]) if 0 < epoch <= len(values) else None


def train_text_gan(config):
    """Trains a sequence GAN on the oracle benchmark and scores it.

    Builds the benchmark (`oracle_data(config.oracle_seed)`), trains the
    `SequenceGAN` of `config` with `model.fit` (MLE, then adversarial
    epochs; a resumable run with `output_dir`: a killed run restarted with
    the same config continues after its last finished epoch, another
    configuration's backup is refused unless `restart`), draws
    `eval_sequences` sequences from the trained generator and scores them,
    prints the results (unless `verbose=0`) and, with `output_dir`, writes
    `results.json` (`nll_oracle`, `nll_gen`, `mle_nll_oracle`,
    `mle_nll_gen`, `oracle_entropy`, `gap_closed`, `seconds`, ...),
    `oracle.keras`, `samples.npy` (int32 `[eval_sequences, T]`),
    `generator.keras`, `nll_curves.png` and the history, each atomically;
    with `export_dir`, the generator as a SavedModel (`export_generator`).

    Returns:
        A `TextGANResult`.
    """
    start = time.perf_counter()
    config, resume = begin_run(config, TextGANConfig, OUTPUTS, backup=True, restart=config.restart)
    with refusing():
        data = oracle_data(config.oracle_seed, config.sequences, config.sequence_length,
                           config.vocab_size)
    with model_scope(config), refusing():
        gan = build_gan(config)
    start_outputs(config, resume)
    if config.output_dir is not None:
        start_backup(config, resume)
    stream = sequence_stream(data.train, config.batch_size, run_seed(config, "data"),
                             start_epoch=resume.epoch)
    with model_scope(config):
        history, train_seconds = timed_fit(gan, stream, config, _callbacks(config, gan, data),
                                           steps_per_epoch=config.steps_per_epoch)
    history = merge_history(resume, history)
    generator = gan.sampling_generator
    samples = sample_sequences(generator, config.eval_sequences, config.sequence_length,
                               run_seed(config, "samples"))
    nll_oracle = sequence_nll(data.oracle, samples)
    nll_gen = sequence_nll(generator, data.held_out)
    mle_nll_oracle = _at_epoch(history, "nll_oracle", config.mle_epochs)
    mle_nll_gen = _at_epoch(history, "nll_gen", config.mle_epochs)
    gap = None if mle_nll_oracle is None else mle_nll_oracle - data.entropy
    results = {
        "nll_oracle": nll_oracle,
        "nll_gen": nll_gen,
        "mle_nll_oracle": mle_nll_oracle,
        "mle_nll_gen": mle_nll_gen,
        "oracle_entropy": data.entropy,
        "gap_closed": None if not gap else (mle_nll_oracle - nll_oracle) / gap,
        "nll_gen_change": None if not mle_nll_gen else nll_gen / mle_nll_gen - 1.0,
        "distinct_sequences": int(len(np.unique(samples, axis=0))),
        "seed": config.seed,
        "oracle_seed": config.oracle_seed,
        "mle_epochs": config.mle_epochs,
        "adversarial_epochs": config.adversarial_epochs,
        "steps_per_epoch": config.steps_per_epoch,
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - start,
    }
    result = TextGANResult(model=gan, config=config, history=history, seconds=train_seconds,
                           results=results)
    result.data, result.samples = data, samples
    if config.verbose:
        mle = "" if mle_nll_oracle is None else (
            f" (after MLE: {mle_nll_oracle:.3f} / {mle_nll_gen:.3f}")
        closed = "" if results["gap_closed"] is None else f"; {100 * results['gap_closed']:.1f} % of the gap closed"
        print(f"NLL_oracle {nll_oracle:.3f}, NLL_gen {nll_gen:.3f}{mle}{')' if mle else ''}; "
              f"oracle entropy {data.entropy:.3f}{closed}; {results['seconds']:.1f} s (seed {config.seed})")
    return finish_run(result, _write_outputs, lambda model, path, overwrite: export_generator(
        model.sampling_generator, path, config.sequence_length, overwrite=overwrite))


def _save_array(array, path):
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            np.save(f, array)
    return path


def _write_outputs(result):
    folder = result.config.output_dir
    config = result.config
    files = {
        "curves": plot_nll_curves(result.history, config.steps_per_epoch, config.mle_epochs,
                                  result.results["oracle_entropy"], os.path.join(folder, CURVES_FILE)),
        **write_history(result, {"results": result.results}),
        "oracle": save_model(result.data.oracle, os.path.join(folder, ORACLE_FILE)),
        "samples": _save_array(result.samples, os.path.join(folder, SAMPLES_FILE)),
        "generator": save_model(result.model.sampling_generator, os.path.join(folder, GENERATOR_FILE)),
    }
    files["results"] = os.path.join(folder, RESULTS_FILE)
    # Last: results.json says the run finished (the benchmark's marker).
    write_json(files["results"], result.results)
    return files

