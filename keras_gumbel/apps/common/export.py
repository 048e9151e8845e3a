"""SavedModel export: serve trained models with plain TensorFlow.

The exported folders are ordinary TensorFlow SavedModels, written with
Keras 3's `keras.export.ExportArchive`: the model's variables and the traced
TensorFlow graphs of a few signatures. Loading them needs TensorFlow only,
not keras_gumbel (nor Keras), so they serve with `tf.saved_model.load`,
TensorFlow Serving or `saved_model_cli`:

>>> served = tf.saved_model.load("gan_model")
>>> served.signatures["sample"](n=tf.constant(5), seed=tf.constant(7, tf.int64))
{'values': <int64 [5]>, 'one_hot': <float32 [5, K]>}

Sampling signatures take an explicit int64 `seed` and draw with stateless
TensorFlow random ops (Philox), so a seed gives the same draws on every call,
every machine and every load; they keep no random state.

Writing is atomic: the SavedModel goes to a temporary folder next to `path`
that is renamed into place once it is complete, so `path` holds the old
model or the new one, never a half-written one.
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import os
import shutil
import tempfile

import tensorflow as tf

from keras_gumbel._random import fold_seed
from keras_gumbel.apps.common.files import check_writable_folder

__all__ = ["check_export_path", "stateless_seed_from_int64", "write_atomically"]

N_SPEC = tf.TensorSpec(shape=(), dtype=tf.int32, name="n")
SEED_SPEC = tf.TensorSpec(shape=(), dtype=tf.int64, name="seed")


def stateless_seed_from_int64(seed):
    """The stateless seed `[2]` (int32) of an int64 scalar `seed`: exactly the
    one keras_gumbel derives from the Python integer `seed`
    (`keras_gumbel.ops.stateless_seed`, the pair `[seed, 0]` folded to int32),
    so the exported samplers draw what the Keras model draws with that
    integer seed, for every int64 seed, and distinct seeds draw distinct
    streams.
    """
    seed = tf.convert_to_tensor(seed, tf.int64)
    return fold_seed(tf.stack([seed, tf.zeros_like(seed)]))


def check_n(n):
    return tf.debugging.assert_non_negative(n, message="n must be an integer >= 0")


def check_export_path(path, overwrite, name="path"):
    """`path` as a string, or a `ValueError` naming the argument `name` if
    it exists, is not an empty folder, and `overwrite` is False; or if it
    cannot be written: its nearest existing parent is a file or refuses a
    new file (the export is written next to `path`, then renamed into
    place). Nothing is created. The training scripts call it before
    training, so that a refused export costs nothing."""
    path = os.fspath(path)
    empty_folder = os.path.isdir(path) and not os.listdir(path)
    if os.path.lexists(path) and not empty_folder and not overwrite:
        raise ValueError(
            f"{name} already exists and is not an empty folder, received "
            f"{name}={path!r}; pass overwrite=True to replace it"
        )
    check_writable_folder(path, name)
    return path


def write_atomically(archive, path, overwrite):
    """Writes `archive` to a temporary sibling of `path`, then renames it to
    `path` (replacing what is there if `overwrite`); on any error removes
    the temporary folder and leaves `path` as it was."""
    path = check_export_path(path, overwrite)
    parent = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{name}-")
    except OSError as error:
        # The temporary folder is ours, not the user's: name the target.
        raise OSError(
            error.errno, f"cannot write the SavedModel {path!r}: {error.strerror}"
        ) from None
    old = None
    try:
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700; models are for sharing
        archive.write_out(tmp, verbose=False)
        # The check again: the export may take a while.
        check_export_path(path, overwrite)
        if os.path.lexists(path) and not (os.path.isdir(path) and not os.listdir(path)):
            # os.replace cannot put a folder over a non-empty one: move the
            # old model aside first, and back if the rename fails.
            old = tempfile.mkdtemp(dir=parent, prefix=f".old-{name}-")
            os.replace(path, os.path.join(old, name))
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(os.path.join(old, name), path)
                raise
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return path
