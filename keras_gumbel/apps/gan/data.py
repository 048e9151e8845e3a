"""The toy GAN's data: a `tf.data` stream of one-hot numbers."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import os

import numpy as np
import tensorflow as tf

from keras_gumbel import ops as gumbel_ops
from keras_gumbel._checks import check_fraction, check_int, check_seed

# The toy GAN's stream (Zeldes 2018, "Neural Networks gone wild! They can
# sample from discrete distributions now!"): numbers 0..4.
NUMBER_PROBS = (0.0, 0.0, 0.1, 0.3, 0.6)


def check_probs(probs, name="probs"):
    """Returns `probs` as a float64 NumPy vector, or raises `ValueError`
    unless it is a flat sequence of >= 2 finite numbers >= 0 summing to 1
    (within 1e-6)."""
    try:
        values = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1:
        raise ValueError(
            f"{name} must be a flat sequence of probabilities, received "
            f"{name}={probs!r}"
        )
    if len(values) < 2:
        raise ValueError(
            f"{name} must have at least 2 categories, received {name}={probs!r}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} must be finite (no NaN or inf), received {name}={probs!r}"
        )
    if np.any(values < 0):
        raise ValueError(
            f"{name} must be >= 0, received {name}={probs!r}"
        )
    total = float(values.sum())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"{name} must sum to 1 (within 1e-6), received {name}={probs!r} "
            f"summing to {total!r}"
        )
    return values


def check_label_smoothing(value, name="label_smoothing"):
    """`value` as a float if it is a number in `[0, 1)` (NaN fails both
    comparisons), or a `ValueError`: `number_stream`'s label smoothing."""
    return check_fraction(value, name)


def number_stream(probs=NUMBER_PROBS, batch_size=10, seed=None, label_smoothing=0.0):
    """An infinite stream of one-hot numbers drawn from `probs`: the toy GAN's data.

    Batch `i` is the exact categorical sample `gumbel_max(log(probs))` (the
    Gumbel-max trick, `keras_gumbel.ops`) with a stateless seed hashed from
    `(seed, i)`, drawn inside the tf.data graph: the same `seed` gives the
    same stream, batch for batch, on any machine and with any number of
    parallel calls. Categories of probability 0 are never drawn.

    With label smoothing `s`, each one-hot `y` becomes `(1 - s) * y + s / K`,
    so a discriminator cannot tell the (relaxed, never exactly one-hot)
    generated samples from the real ones by their hardness alone.

    Args:
        probs: the probabilities of the numbers `0 .. K-1`: at least 2
            finite numbers >= 0 summing to 1 (within 1e-6).
        batch_size: numbers per batch, an integer >= 1.
        seed: integer seed of the stream; `None` draws one from the
            operating system (a different stream on every call).
        label_smoothing: a number in `[0, 1)`.

    Returns:
        An infinite, prefetched `tf.data.Dataset` of float32 batches of shape
        `[batch_size, K]`.
    """
    probs = check_probs(probs)
    batch_size = check_int(batch_size, "batch_size")
    label_smoothing = check_label_smoothing(label_smoothing)
    seed = check_seed(seed)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little") >> 1
    num_categories = len(probs)
    with np.errstate(divide="ignore"):
        logits = tf.constant(
            np.broadcast_to(np.log(probs), (batch_size, num_categories)), tf.float32
        )

    def draw(step):
        # Batch `i`'s seed is a hash of (seed, i): it does not depend on which
        # batches were drawn before it, and unlike the seed pairs (seed, i) it
        # never repeats the noise of a keras.random.SeedGenerator(seed), whose
        # states are (seed, 0), (seed, 1), ... (a generator seeded alike).
        step_seed = tf.random.experimental.stateless_fold_in(
            tf.constant([seed, 0x5EED], tf.int64), step
        )
        one_hot = gumbel_ops.gumbel_max(logits, seed=step_seed)
        if label_smoothing:
            one_hot = one_hot * (1.0 - label_smoothing) + label_smoothing / num_categories
        return one_hot

    return (
        tf.data.Dataset.counter()
        .map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
