"""Randomness for the ops: seeds, uniform noise and the per-replica fold-in.

Private. `ops` draws all its noise through `uniform`; nothing here knows
about Gumbel distributions.

- `stateless_seed` turns any accepted seed (`None`, an integer, a
  `keras.random.SeedGenerator`, a stateless seed tensor `[2]`) into an int32
  stateless seed `[2]`.
- `uniform` draws from `[tiny, 1)` with the algorithm the context calls for:
  Philox outside XLA (TFP's and Keras' generator), 64-bit Threefry words
  inside an XLA cluster (`xla_uniform`).
- `replica_seed` folds the replica's index into a seed under a
  `tf.distribute` strategy, so replicas sharing one generator state draw
  different noise.
"""

import numbers

import keras
import numpy as np
import tensorflow as tf

from keras_gumbel._checks import fail
from keras_gumbel._compat import in_xla_context

__all__ = ["replica_seed", "rng_alg", "stateless_seed", "uniform", "xla_uniform"]

_SEEDS = (
    "None, an integer, a keras.random.SeedGenerator or a stateless seed "
    "(an integer tensor of shape [2])"
)


def replica_seed(seed):
    """Folds the replica's index into a stateless seed `[2]` (int32 or int64).

    `seed` unchanged with one replica; under a strategy with several, replica
    `r` gets `tf.random.experimental.stateless_fold_in(seed, r)`: a distinct,
    reproducible seed per replica, so replicas that share one `SeedGenerator`
    state draw different noise.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return seed
    replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
    return tf.random.experimental.stateless_fold_in(seed, replica, alg="philox")


def stateless_seed(seed):
    """Turns any accepted `seed` into a stateless seed: an int32 tensor `[2]`.

    A `keras.random.SeedGenerator` advances its state, so successive calls
    draw new noise; the same initial seed replays the same sequence. Under a
    `tf.distribute` strategy with several replicas its state is the same on
    every replica, so the replica's index is folded into it
    (`replica_seed`): each replica draws different noise, reproducibly.
    `None` draws a seed from TensorFlow's global generator.
    """
    given = seed
    if isinstance(seed, keras.random.SeedGenerator):
        seed = replica_seed(tf.convert_to_tensor(seed.next()))
    elif seed is None:
        return tf.random.uniform([2], maxval=tf.int32.max, dtype=tf.int32)
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seed = [int(seed), 0]
    elif not tf.is_tensor(seed) and not isinstance(seed, (list, tuple, np.ndarray)):
        fail("seed", _SEEDS, given)
    try:
        seed = tf.convert_to_tensor(seed)
    except (TypeError, ValueError):
        fail("seed", _SEEDS, given)
    if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
        fail("seed", _SEEDS, given)
    if seed.dtype != tf.int32:
        # XLA wants int32 seeds; SeedGenerator keeps an int64 state.
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max), tf.int32)
    return seed


def rng_alg():
    """The stateless algorithm for the context: Threefry inside XLA, Philox
    elsewhere (Threefry is not implemented outside XLA)."""
    return "threefry" if in_xla_context() else "philox"


def uniform(shape, seed, dtype):
    """Uniform noise on [tiny, 1): log(0) can never happen.

    The random algorithm is chosen by context. Outside XLA it is
    "auto_select" (Philox on CPU and GPU), the generator TFP and Keras use,
    so a stateless seed reproduces TFP's samples exactly; naming "philox"
    draws the same numbers through 40 more graph nodes per call. Inside an
    XLA cluster Philox compiles to a generator about 100x slower on CPU,
    whereas Threefry is fast there (and is not implemented outside XLA); see
    `xla_uniform` for how it is drawn.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    seed = stateless_seed(seed)
    tiny = np.finfo(dtype).tiny
    if in_xla_context():
        return xla_uniform(shape, seed, dtype, tiny)
    return tf.random.stateless_uniform(
        shape, seed=seed, minval=tiny, maxval=1.0, dtype=dtype, alg="auto_select"
    )


def xla_uniform(shape, seed, dtype, tiny):
    """Threefry uniform noise on [tiny, 1) for XLA, from 64-bit words.

    XLA's Threefry makes two 32-bit words per block and interleaves them with
    a concatenate; once XLA fuses that into a consumer of another shape (the
    division by a temperature variable, the sigmoid of a relaxed Bernoulli)
    the fused kernel runs 3-4x slower than the generator alone (measured on
    CPU, TF 2.21: the reason `jit_compile=True` made the layer 1.3-4.6x
    slower than without XLA). A 64-bit draw is one block per element with
    no concatenate and fuses cheaply. float32 takes the top 23 bits
    as its mantissa, exactly as TensorFlow builds a float32 uniform from
    32 random bits: `u = bitcast(0x3F800000 | m) - 1` in [0, 1 - 2^-23].
    """
    if dtype == "float64":
        return tf.random.stateless_uniform(
            shape, seed=seed, minval=tiny, maxval=1.0, dtype=dtype, alg="threefry"
        )
    bits = tf.random.stateless_uniform(
        shape, seed=seed, minval=None, maxval=None, dtype=tf.uint64, alg="threefry"
    )
    mantissa = tf.cast(tf.bitwise.right_shift(bits, tf.constant(41, tf.uint64)), tf.uint32)
    one = tf.constant(0x3F800000, tf.uint32)
    u = tf.bitcast(tf.bitwise.bitwise_or(mantissa, one), tf.float32) - 1.0
    # As tf.random.stateless_uniform's `u * (maxval - minval) + minval`.
    return tf.cast(u + tiny, dtype)
