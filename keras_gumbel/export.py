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

from keras_gumbel import _tensorflow_only  # noqa: F401 (first: a clear error on another backend)

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_gumbel import ops as gumbel_ops
from keras_gumbel._random import fold_seed
from keras_gumbel.files import check_writable_folder
from keras_gumbel.models import CategoricalGenerator, DiscreteVAE, GumbelGAN

__all__ = ["check_export_path", "export_generator", "export_vae"]

_N_SPEC = tf.TensorSpec(shape=(), dtype=tf.int32, name="n")
_SEED_SPEC = tf.TensorSpec(shape=(), dtype=tf.int64, name="seed")


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


def _check_n(n):
    return tf.debugging.assert_non_negative(n, message="n must be an integer >= 0")


def _generator_of(model):
    if isinstance(model, GumbelGAN):
        return model.generator
    if isinstance(model, CategoricalGenerator):
        return model
    raise ValueError(
        "model must be a keras_gumbel.models.GumbelGAN or CategoricalGenerator, "
        f"received model of type {type(model).__name__}"
    )


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
            f"{name}={path!r}; pass overwrite=True (--overwrite) to replace it"
        )
    check_writable_folder(path, name)
    return path


def _write_atomically(archive, path, overwrite):
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


def export_generator(model, path, overwrite=False):
    """Exports the learned distribution of a trained generator as a SavedModel.

    Signatures (also methods of the loaded object):

    - `sample(n, seed)`: `n` (int32 scalar) exact categorical draws from
      the learned distribution by the Gumbel-max trick,
      `argmax(logits + g)` with standard Gumbel noise `g` (Gumbel 1954;
      Maddison et al. 2014) rather than the relaxed training samples.
      Returns `{"values": int64 [n], "one_hot": float32 [n, K]}`. The
      int64 scalar `seed` fixes the draws: the same seed repeats them.
      For every int64 seed they equal
      `keras_gumbel.ops.gumbel_max(logits, seed=seed)` in Keras.
    - `probs()`: `{"probs": float32 [K]}`, the learned distribution
      `softmax(logits)`. It is also `serving_default`.

    Args:
        model: a trained `keras_gumbel.models.GumbelGAN` (its generator is
            exported) or a `CategoricalGenerator`.
        path: the SavedModel folder to write.
        overwrite: whether to replace an existing, non-empty `path`.

    Returns:
        `path`.

    Raises:
        ValueError: for another kind of model, or if `path` exists and is
            not an empty folder while `overwrite` is False.
    """
    generator = _generator_of(model)
    check_export_path(path, overwrite)
    num_categories = generator.num_categories

    def probs():
        return {"probs": tf.cast(generator.probs, tf.float32)}

    def sample(n, seed):
        with tf.control_dependencies([_check_n(n)]):
            logits = tf.cast(generator.logits, tf.float32)
        logits = tf.broadcast_to(logits, tf.stack([n, num_categories]))
        one_hot = gumbel_ops.gumbel_max(logits, seed=stateless_seed_from_int64(seed))
        return {"values": tf.argmax(one_hot, axis=-1, output_type=tf.int64), "one_hot": one_hot}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    # The first endpoint is also `serving_default`.
    archive.add_endpoint("probs", probs, input_signature=[])
    archive.add_endpoint("sample", sample, input_signature=[_N_SPEC, _SEED_SPEC])
    return _write_atomically(archive, path, overwrite)


def export_vae(model, path, overwrite=False):
    """Exports a trained `DiscreteVAE` as a SavedModel.

    With `D = model.input_dim` pixels, `L = model.latent_dim` categorical
    variables of `K = model.num_categories` classes, the signatures (also
    methods of the loaded object) are:

    - `encode(images)`: float32 images `[B, D]`, finite pixels in `[0, 1]` ->
      `{"codes": int32 [B, L], "logits": float32 [B, L, K]}`, the logits of
      the posterior q(z | x) and their argmax, the most likely code
      (deterministic, no sampling).
    - `decode(codes)`: int32 codes `[B, L]` with values in `[0, K)` ->
      `{"images": float32 [B, D]}`, the decoder's pixel probabilities.
    - `reconstruct(images)`: `decode(encode(images)["codes"])`, i.e.
      `{"images": float32 [B, D]}`, deterministic; `model.reconstruct` in
      Keras. It is also `serving_default`.
    - `sample(n, seed)`: `n` (int32 scalar) codes drawn uniformly (the
      prior) and decoded: `{"images": float32 [n, D], "codes": int32 [n, L]}`.
      The int64 scalar `seed` fixes the draws; for every int64 seed the
      codes equal `model.sample(n, seed=seed)` in Keras.

    `encode`, `decode` and `reconstruct` check their inputs with
    assertions: a pixel that is NaN, infinite or outside `[0, 1]`, or a
    code outside `[0, K)`, raises `tf.errors.InvalidArgumentError` naming
    the input (`images` or `codes`) rather than returning an image.

    Args:
        model: a trained `keras_gumbel.models.DiscreteVAE`.
        path: the SavedModel folder to write.
        overwrite: whether to replace an existing, non-empty `path`.

    Returns:
        `path`.

    Raises:
        ValueError: for another kind of model, or if `path` exists and is
            not an empty folder while `overwrite` is False.
    """
    if not isinstance(model, DiscreteVAE):
        raise ValueError(
            "model must be a keras_gumbel.models.DiscreteVAE, received model "
            f"of type {type(model).__name__}"
        )
    check_export_path(path, overwrite)
    latent_dim, num_categories = model.latent_dim, model.num_categories

    # The model's own checks, under the signatures' argument names: a NaN
    # pixel, a pixel outside [0, 1] or a code outside [0, K) fails an
    # assertion (InvalidArgumentError) instead of returning an image.
    def encode(images):
        logits, codes = model._encode(images, "images")
        return {"codes": codes, "logits": tf.cast(logits, tf.float32)}

    def decode(codes):
        return {"images": tf.cast(model._decode(codes, "codes"), tf.float32)}

    def reconstruct(images):
        return decode(model._encode(images, "images")[1])

    def sample(n, seed):
        with tf.control_dependencies([_check_n(n)]):
            shape = tf.stack([n, latent_dim])
        # Keras's `randint` with the same stateless seed (Philox).
        codes = tf.random.stateless_uniform(
            shape,
            seed=stateless_seed_from_int64(seed),
            minval=0,
            maxval=num_categories,
            dtype=tf.int32,
            alg="philox",
        )
        return {"images": decode(codes)["images"], "codes": codes}

    images_spec = tf.TensorSpec(shape=(None, model.input_dim), dtype=tf.float32, name="images")
    codes_spec = tf.TensorSpec(shape=(None, latent_dim), dtype=tf.int32, name="codes")
    archive = keras.export.ExportArchive()
    archive.track(model)
    # The first endpoint is also `serving_default`.
    archive.add_endpoint("reconstruct", reconstruct, input_signature=[images_spec])
    archive.add_endpoint("encode", encode, input_signature=[images_spec])
    archive.add_endpoint("decode", decode, input_signature=[codes_spec])
    archive.add_endpoint("sample", sample, input_signature=[_N_SPEC, _SEED_SPEC])
    return _write_atomically(archive, path, overwrite)
