"""SavedModel export of the toy GAN's generator (see
`keras_gumbel.apps.common.export` for the format and its guarantees)."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import keras
import tensorflow as tf

from keras_gumbel import ops as gumbel_ops
from keras_gumbel.apps.common.export import (
    N_SPEC,
    SEED_SPEC,
    check_export_path,
    check_n,
    stateless_seed_from_int64,
    write_atomically,
)
from keras_gumbel.apps.gan.model import CategoricalGenerator, GumbelGAN

__all__ = ["export_generator"]


def _generator_of(model):
    if isinstance(model, GumbelGAN):
        return model.generator
    if isinstance(model, CategoricalGenerator):
        return model
    raise ValueError(
        "model must be a keras_gumbel.models.GumbelGAN or CategoricalGenerator, "
        f"received model of type {type(model).__name__}"
    )


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
        with tf.control_dependencies([check_n(n)]):
            logits = tf.cast(generator.logits, tf.float32)
        logits = tf.broadcast_to(logits, tf.stack([n, num_categories]))
        one_hot = gumbel_ops.gumbel_max(logits, seed=stateless_seed_from_int64(seed))
        return {"values": tf.argmax(one_hot, axis=-1, output_type=tf.int64), "one_hot": one_hot}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    # The first endpoint is also `serving_default`.
    archive.add_endpoint("probs", probs, input_signature=[])
    archive.add_endpoint("sample", sample, input_signature=[N_SPEC, SEED_SPEC])
    return write_atomically(archive, path, overwrite)
