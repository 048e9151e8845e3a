"""What the applications' recipes share, written once: the run options, the
run's prologue (seed, strategy, the outputs of an earlier run), the model
scope, the timed `fit`, the history files, the export and the result's tail.

A recipe (`apps/gan/recipe.py`, `apps/vae/recipe.py`) defines its config (a
`RunOptions` subclass), its result (a `RunResult` subclass), how to build
and train its model, and which files it writes; this module runs the rest,
including the checks made before any work (`RunRefused`) and the backup that
resumes an interrupted run (`check_backup`, `start_backup`).
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import contextlib
import csv
import dataclasses
import glob
import io
import json
import math
import os
import shutil
import time
from typing import ClassVar

import keras

from keras_gumbel import schedules
from keras_gumbel._checks import check_bool, check_choice, check_seed
from keras_gumbel.apps.common import distribute
from keras_gumbel.apps.common.compat import backup_epochs
from keras_gumbel.apps.common.export import check_export_path
from keras_gumbel.apps.common.files import (
    atomic_path,
    check_apart,
    check_writable_folder,
    write_json,
    write_text,
)
from keras_gumbel.apps.common.seeds import derive_seed

STRATEGIES = distribute.STRATEGIES

# The history files both recipes write into `output_dir`.
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"

# The backup of an unfinished run, inside `output_dir`: Keras'
# BackupAndRestore files, the run's configuration and the logs of its
# finished epochs. Deleted when the run completes.
BACKUP_DIR = "backup"
BACKUP_CONFIG = "config.json"
EPOCH_LOG = "epochs.json"

# The temperature schedules of the applications' `--schedule` flags.
TEMPERATURE_SCHEDULES = ("constant", "exponential", "linear", "cosine")


class RunRefused(ValueError):
    """A run refused before any work for a reason its config's values alone
    do not show: its data, its folders, the backup of another run. The
    commands report it as a usage error (exit status 2), like a bad flag."""


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
        export_dir: also export a SavedModel there (`keras_gumbel.export`);
            it must not be, contain or lie inside `output_dir`.
        overwrite: replace the outputs of an earlier, finished run in
            `output_dir` (removed before this run writes) and an existing
            `export_dir`.

    `OUTPUT_FIELDS` names the fields that do not change what is trained
    (where and how much it reports); a backup resumes a run whose other
    fields are the same (`check_backup`).
    """

    OUTPUT_FIELDS: ClassVar[tuple] = ("verbose", "output_dir", "export_dir", "overwrite")

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
        # Folders are checked before training rather than after it.
        if self.export_dir is not None and self.output_dir is not None:
            # An export replaces its folder: never the run's own files.
            check_apart(self.export_dir, "export_dir", self.output_dir, "output_dir")
        if self.output_dir is not None:
            check_writable_folder(self.output_dir, "output_dir")
        if self.export_dir is not None:
            check_export_path(self.export_dir, self.overwrite, "export_dir")
            check_writable_folder(self.export_dir, "export_dir")


@dataclasses.dataclass(kw_only=True)
class RunResult:
    """What both recipes return.

    Attributes:
        model: the trained model.
        config: the config, with `seed` resolved.
        history: per-epoch logs, lists by name (`History.history`).
        seconds: the wall time of `fit`.
        files: the paths written, by kind (a path, or a list of paths);
            empty without `output_dir` or `export_dir`.
    """

    model: keras.Model
    config: RunOptions
    history: dict
    seconds: float
    files: dict = dataclasses.field(default_factory=dict)


def annealing(schedule, initial, final, steps):
    """The `keras_gumbel.schedules` schedule named `schedule` (one of
    `TEMPERATURE_SCHEDULES`) from `initial` to `final` over `steps` global
    steps, or `None` for `"constant"`. The exponential one decays by
    `exp(-rate * step)` with `rate = log(initial / final) / steps` and stays
    at `final` after (and at `initial` when `final > initial`)."""
    if schedule == "constant":
        return None
    if schedule == "exponential":
        rate = max(0.0, math.log(initial / final)) / steps
        return schedules.ExponentialDecay(initial, rate=rate, minimum=min(initial, final))
    if schedule == "linear":
        return schedules.LinearDecay(initial, final, steps)
    return schedules.CosineDecay(initial, final, steps)


def run_seed(config, purpose):
    """The integer seed of `purpose`'s stream in the run of `config` (whose
    `seed` is set): `keras_gumbel.apps.common.seeds.derive_seed(config.seed,
    purpose)`."""
    return derive_seed(config.seed, purpose)


def begin_run(config, config_class, outputs, backup=False, restart=False):
    """The run's prologue, before any work: checks `config`'s type, opens
    the backup in its `output_dir` if `backup` (`check_backup`: a resumed
    run takes the backup's seed, another run's backup is refused), refuses
    the outputs of an earlier, finished run there unless `config.overwrite`
    (`check_earlier_outputs`; `outputs` are the recipe's file patterns),
    draws a seed if it has none (reported, so the run can be repeated), and
    creates its strategy: a multi-worker strategy must exist before any other
    TensorFlow work. Returns `(config, Resume)`; the recipe then calls
    `start_outputs` once its own checks have passed."""
    if not isinstance(config, config_class):
        raise ValueError(
            f"config must be a {config_class.__name__}, received config={config!r}"
        )
    resume = Resume()
    if backup and config.output_dir is not None:
        config, resume = check_backup(config, restart)
    resume.earlier = check_earlier_outputs(config, outputs)
    if config.seed is None:
        config = dataclasses.replace(config, seed=_draw_seed())
    distribute.get_strategy(config.strategy)
    return config, resume


def training_fields(config):
    """The fields of `config` that change what is trained (all but its
    `OUTPUT_FIELDS`), as JSON values (tuples become lists)."""
    record = json.loads(json.dumps(dataclasses.asdict(config)))
    return {k: v for k, v in record.items() if k not in config.OUTPUT_FIELDS}


@dataclasses.dataclass
class Resume:
    """Where a run starts: after `epoch` finished epochs (0: afresh), whose
    logs are `history` (lists by key, as `History.history`)."""

    epoch: int = 0
    history: dict = dataclasses.field(default_factory=dict)
    # The outputs of an earlier, finished run, to remove before this one
    # writes (`check_earlier_outputs`).
    earlier: list = dataclasses.field(default_factory=list)


def find_outputs(folder, patterns):
    """The files and folders in `folder` that match any of `patterns` (glob
    patterns relative to it), sorted."""
    found = set()
    for pattern in patterns:
        found.update(glob.glob(os.path.join(glob.escape(folder), pattern)))
    return sorted(found)


def check_earlier_outputs(config, patterns):
    """The outputs of an earlier, finished run in `config.output_dir` (the
    files and folders of `patterns` there), which this run will remove
    (`start_outputs`) if `config.overwrite`; `RunRefused` naming them if
    not, so that a new run never mixes its files with an old run's. A folder
    holding a backup is an unfinished run's: its files are resumed (or
    restarted) by `check_backup`, not refused. Reads only."""
    folder = config.output_dir
    if folder is None or os.path.isdir(os.path.join(folder, BACKUP_DIR)):
        return []
    found = find_outputs(folder, patterns)
    if found and not config.overwrite:
        names = [os.path.basename(p) + ("/" if os.path.isdir(p) else "") for p in found]
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        raise RunRefused(
            f"output_dir holds the outputs of an earlier run ({shown}), received "
            f"output_dir={folder!r}; pass overwrite=True to remove them first, or "
            "choose another folder"
        )
    return found


def start_outputs(config, resume):
    """Once every check has passed: removes the outputs of the earlier run
    that `config.overwrite` replaces (`resume.earlier`); only the chief of a
    cluster removes."""
    if resume.earlier and distribute.is_chief():
        for path in resume.earlier:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)


def read_epoch_log(path, epochs):
    """The logs of epochs `1 .. epochs` in the epoch log at `path` (see
    `keras_gumbel.apps.common.callbacks.EpochLog`), as lists by key; `None`
    unless it holds each of them."""
    try:
        with open(path, encoding="utf-8") as f:
            records = json.load(f)
        by_epoch = {int(r["epoch"]): r for r in records}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(e not in by_epoch for e in range(1, epochs + 1)):
        return None
    keys = [k for k in by_epoch[1] if k != "epoch"] if epochs else []
    try:
        return {k: [float(by_epoch[e][k]) for e in range(1, epochs + 1)] for k in keys}
    except (KeyError, TypeError, ValueError):
        return None


def _refuse_backup(folder, problem):
    raise RunRefused(
        f"the output folder holds the backup of an unfinished run, {folder!r}, "
        f"{problem}; to start afresh, pass restart=True, which "
        "deletes it, or delete the folder"
    )


def check_backup(config, restart=False):
    """Checks the backup in `config.output_dir` before any work (reading
    only) and returns `(config, Resume)`:

    - no backup, one without a finished epoch (a run killed in its first
      epoch), or `restart=True`: the run starts afresh (`Resume()`);
    - a backup of the same configuration (`training_fields`; a config
      without a seed takes the backup's): the run resumes after its last
      finished epoch; `Resume.history` holds the logs of the finished
      epochs, from the backup's epoch log;
    - a backup of another configuration, or without a configuration record
      (an older version's), or damaged: `RunRefused`, naming the backup, the
      fields that differ (old and new values) and how to start afresh.

    `start_backup` then writes (or deletes) what it decided, once the rest
    of the run's checks have passed.
    """
    folder = os.path.join(config.output_dir, BACKUP_DIR)
    finished = backup_epochs(folder) if os.path.isdir(folder) and not restart else 0
    if finished == 0:
        return config, Resume()
    if finished is None:
        _refuse_backup(folder, "whose training_metadata.json cannot be read")
    try:
        with open(os.path.join(folder, BACKUP_CONFIG), encoding="utf-8") as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict):
        _refuse_backup(
            folder, f"without a readable record of its configuration ({BACKUP_CONFIG}; "
            "written by an older version?)"
        )
    wanted = training_fields(config)
    if config.seed is None:
        wanted["seed"] = recorded.get("seed")
    differ = [k for k in sorted(set(wanted) | set(recorded)) if wanted.get(k) != recorded.get(k)]
    if differ:
        changes = ", ".join(f"{k} {recorded.get(k)!r} -> {wanted.get(k)!r}" for k in differ)
        _refuse_backup(folder, f"whose configuration differs from this one's: {changes}")
    history = read_epoch_log(os.path.join(folder, EPOCH_LOG), finished)
    if history is None:
        _refuse_backup(folder, f"whose log of its {finished} finished epochs ({EPOCH_LOG}) "
                               "is missing or incomplete")
    return dataclasses.replace(config, seed=wanted["seed"]), Resume(finished, history)


def start_backup(config, resume):
    """Acts on `check_backup`'s decision, after the run's other checks:
    a run that starts afresh deletes any leftover backup and records its
    configuration in `backup/config.json`; a resumed one says so on stdout
    (even when silent: its history then holds epochs of earlier
    processes). Only the chief of a cluster deletes or writes. Returns the
    backup folder."""
    folder = os.path.join(config.output_dir, BACKUP_DIR)
    if resume.epoch:
        print(f"Found {folder}: resuming from the backup after epoch {resume.epoch} "
              f"(of {config.epochs}); pass --restart (restart=True in Python) to start afresh")
    elif distribute.is_chief():
        if os.path.lexists(folder):
            shutil.rmtree(folder)
        write_json(os.path.join(folder, BACKUP_CONFIG), training_fields(config))
    return folder


@contextlib.contextmanager
def refusing():
    """Turns the `ValueError`s (and `FileNotFoundError`s) raised in the
    block into `RunRefused`: for the checks a run makes before any work
    (its data, its model's arguments), which the commands report as usage
    errors."""
    try:
        yield
    except RunRefused:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise RunRefused(str(error)) from error


def _draw_seed():
    return int.from_bytes(os.urandom(4), "little") >> 1


def merge_history(resume, history):
    """The logs of every epoch of a run: `resume.history` (the epochs
    finished before it resumed) followed by `history` (this process's)."""
    keys = list(resume.history) + [k for k in history if k not in resume.history]
    return {k: list(resume.history.get(k, [])) + list(history.get(k, [])) for k in keys}


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
            # Epochs without a test evaluation (`validation_freq`) log NaN for
            # `val_*`: written as null, so the file stays strict JSON.
            "history": {
                k: [None if math.isnan(float(v)) else float(v) for v in vs]
                for k, vs in result.history.items()
            },
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
        paths = [p for v in result.files.values() for p in ([v] if isinstance(v, str) else v)]
        print(f"Wrote {', '.join(sorted(paths))}")
    return result
