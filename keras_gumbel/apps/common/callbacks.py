"""Callbacks the applications share: every epoch's logs recorded as it ends,
and the epochs a run draws its pictures at."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import os

import keras

__all__ = ["EpochLog", "spread_epochs"]


def spread_epochs(epochs, count=6):
    """`count` epochs spread evenly over `1 .. epochs` (1-based), the first
    and the last included (all of them if `epochs <= count`)."""
    if epochs <= count:
        return list(range(1, epochs + 1))
    return sorted({round(1 + i * (epochs - 1) / (count - 1)) for i in range(count)})


class EpochLog(keras.callbacks.Callback):
    """Records every epoch's logs as it ends, into a JSON file rewritten
    atomically: a list of `{"epoch": N, name: value, ...}` with the epoch's
    true number (1-based, counting the epochs of a resumed run's earlier
    processes). A run killed at any moment leaves every finished epoch's
    record, and only finished ones.

    A resumed run keeps the records already in the file, up to the epoch it
    resumes at. Put it before a `BackupAndRestore` in the callbacks, so the
    log holds at least the epochs the backup resumes after.

    Args:
        path: the JSON file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = os.fspath(path)
        self.records = []

    def on_train_begin(self, logs=None):
        import json

        try:
            with open(self.path, encoding="utf-8") as f:
                self.records = json.load(f)
        except FileNotFoundError:
            self.records = []

    def on_epoch_end(self, epoch, logs=None):
        from keras_gumbel.apps.common.files import write_json

        record = {"epoch": epoch + 1}
        record.update({k: float(v) for k, v in (logs or {}).items()})
        self.records = [r for r in self.records if r["epoch"] < epoch + 1] + [record]
        write_json(self.path, self.records)
