"""What both demos' recipes share, written once: the run options, the run's
prologue (seed, strategy), the model scope, the timed `fit`, the history
files, the export and the result's tail.

A recipe (`recipes/gan.py`, `recipes/vae.py`) defines its config (a
`RunOptions` subclass), its result (a `RunResult` subclass), how to build
and train its model, and which files it writes; this module runs the rest.
"""

import contextlib
import csv
import dataclasses
import io
import os
import time

import keras

from keras_gumbel import distribute, export
from keras_gumbel._checks import check_bool, check_choice, check_seed
from keras_gumbel.files import atomic_path, write_json, write_text
from keras_gumbel.models._seeds import derive_seed


STRATEGIES = distribute.STRATEGIES

# The history files both recipes write into `output_dir`.
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"


@dataclasses.dataclass(kw_only=True)
class RunOptions:
    """The options both demos' configs share: the run's seed, its outputs and
    the devices it runs on.

    Attributes:
        seed: the run's root seed; `None` draws one, reported in the result
            so the run can be repeated. Every purpose (initializers, the
            sampler's noise, the data, evaluation, pictures) draws from its
            own stream derived from it (`run_seed`).
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

    def __post_init__(self):
        check_choice(self.verbose, "verbose", (0, 1, 2))
        check_choice(self.strategy, "strategy", STRATEGIES)
        check_bool(self.mixed_precision, "mixed_precision")
        check_bool(self.overwrite, "overwrite")
        self.seed = check_seed(self.seed, minimum=0)
        if self.export_dir is not None:
            # Refused before training rather than after it.
            export.check_export_path(self.export_dir, self.overwrite, "export_dir")


@dataclasses.dataclass(kw_only=True)
class RunResult:
    """What both recipes return.

    Attributes:
        model: the trained model.
        config: the config, with `seed` resolved.
        history: per-epoch logs, lists by name (`History.history`).
        seconds: the wall time of `fit`.
        files: the paths written, by kind; empty without `output_dir` or
            `export_dir`.
    """

    model: keras.Model
    config: RunOptions
    history: dict
    seconds: float
    files: dict = dataclasses.field(default_factory=dict)


def run_seed(config, purpose):
    """The integer seed of `purpose`'s stream in the run of `config` (whose
    `seed` is set): `keras_gumbel.models._seeds.derive_seed(config.seed,
    purpose)`."""
    return derive_seed(config.seed, purpose)


def begin_run(config, config_class):
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
def model_scope(config):
    """The distribution strategy's scope, with the dtype policy that the
    models built inside take, restored afterwards (no global side effect).
    The strategy is cached by `distribute.get_strategy`; a multi-worker one
    must have been created before any other TensorFlow work (`begin_run`
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


def timed_fit(model, data, config, callbacks, **kwargs):
    """`model.fit(data, epochs=config.epochs, ...)` without Keras' own
    shuffling (the pipelines shuffle, seeded). Returns `(History.history,
    seconds)`."""
    start = time.perf_counter()
    history = model.fit(
        data,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=config.verbose,
        shuffle=False,
        **kwargs,
    )
    return dict(history.history), time.perf_counter() - start


def history_csv(history):
    """`History.history` (lists per key) as CSV text, one row per epoch."""
    keys = list(history)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["epoch"] + keys)
    epochs = len(next(iter(history.values()), []))
    for e in range(epochs):
        writer.writerow([e + 1] + [repr(float(history[k][e])) for k in keys])
    return out.getvalue()


def write_history(result, record):
    """Writes `history.json` (the config, `record`'s entries and the history)
    and `history.csv` (one row per epoch) into the run's folder, atomically.
    Returns their paths by kind."""
    folder = result.config.output_dir
    files = {
        "history_json": os.path.join(folder, HISTORY_JSON),
        "history_csv": os.path.join(folder, HISTORY_CSV),
    }
    write_json(
        files["history_json"],
        {
            "config": dataclasses.asdict(result.config),
            **record,
            "seconds": result.seconds,
            "history": {k: [float(v) for v in vs] for k, vs in result.history.items()},
        },
    )
    write_text(files["history_csv"], history_csv(result.history))
    return files


def save_model(model, path):
    """`model.save(path)`, atomically. Returns `path`."""
    with atomic_path(path) as tmp:
        model.save(tmp)
    return path


def finish_run(result, write_outputs, exporter):
    """The tail of a run: the chief of a cluster (any single process) writes
    the run's files with `write_outputs(result)` if the config has an
    `output_dir`, and exports the model with `exporter(model, export_dir,
    overwrite=...)` if it has an `export_dir`; says what it wrote unless
    silent. Returns `result`, its `files` filled in."""
    config = result.config
    if distribute.is_chief():
        if config.output_dir is not None:
            result.files = write_outputs(result)
        if config.export_dir is not None:
            exporter(result.model, config.export_dir, overwrite=config.overwrite)
            result.files["export"] = config.export_dir
    if config.verbose and result.files:
        print(f"Wrote {', '.join(sorted(result.files.values()))}")
    return result
