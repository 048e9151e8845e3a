"""Randomness for the ops: seeds, uniform noise and the per-replica fold-in.

Private. `ops` draws all its noise through `uniform` (and `split` for a
second, independent stream); nothing here knows about Gumbel distributions.
This is the one module that holds backend-specific random code; the rest of
the core is written with `keras.ops`.

- `stateless_seed` turns any accepted seed (`None`, an integer, a
  `keras.random.SeedGenerator`, a stateless seed tensor `[2]`) into the
  backend's stateless seed.
- `uniform` draws from `[tiny, 1)`, on each backend with its fastest
  counter-based generator:

  - TensorFlow: Philox outside XLA (TFP's and Keras' generator), 64-bit
    Threefry words inside an XLA cluster (`xla_uniform`); the seed is an
    int32 tensor `[2]`.
  - JAX: Threefry-2x32 bits drawn directly, one block per two numbers
    (`jax_uniform`): 2.5-4x faster on CPU than `jax.random.uniform`, whose
    partitionable Threefry spends a block per number. The seed is a raw
    `uint32[2]` Threefry key (what a `SeedGenerator` holds on JAX).
  - PyTorch: `torch.rand` from a `torch.Generator` seeded with a hash of the
    stateless seed (`torch_uniform`); the seed is an int64 tensor `[2]`.

- `split` derives a second stateless seed from one, independent of it.
- `replica_seed` folds the replica's index into a seed under a
  `tf.distribute` strategy, so replicas sharing one generator state draw
  different noise (TensorFlow only).
"""

import math
import numbers

import keras
import numpy as np

from keras_gumbel._checks import fail

__all__ = [
    "fold_seed",
    "replica_seed",
    "rng_alg",
    "seed_generator",
    "split",
    "stateless_seed",
    "uniform",
    "xla_uniform",
]

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    import tensorflow as tf

    from keras_gumbel._compat import in_xla_context

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SEEDS = (
    "None, an integer in [-2**63, 2**63 - 1], a keras.random.SeedGenerator "
    "or a stateless seed (an integer tensor of shape [2])"
)

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


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
    """Turns any accepted `seed` into the backend's stateless seed: on
    TensorFlow an int32 tensor `[2]` (on JAX a `uint32[2]` Threefry key, on
    PyTorch an int64 tensor `[2]`; see `_other_stateless_seed`).

    An integer `s` (any that `keras.random.SeedGenerator` takes: a signed
    64-bit integer) stands for the pair `[s, 0]`, the state a
    `SeedGenerator(s)` starts from. A `SeedGenerator` advances its state,
    so successive calls draw new noise; the same initial seed replays the
    same sequence. Under a `tf.distribute` strategy with several replicas
    its state is the same on every replica, so the replica's index is folded
    into it (`replica_seed`): each replica draws different noise,
    reproducibly. `None` draws a seed from TensorFlow's global generator.

    The stateless random ops take int32 pairs under XLA (where they ignore
    the high half of int64 ones); the int64 pairs of integers and
    generators become int32 pairs through `fold_seed`, which keeps every
    pair that fits in int32 and hashes the others, so distinct seeds give
    distinct streams.
    """
    if BACKEND != "tensorflow":
        return _other_stateless_seed(seed)
    given = seed
    if isinstance(seed, keras.random.SeedGenerator):
        seed = replica_seed(tf.convert_to_tensor(seed.next()))
    elif seed is None:
        return tf.random.uniform([2], maxval=tf.int32.max, dtype=tf.int32)
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if not _INT64_MIN <= seed <= _INT64_MAX:
            fail("seed", _SEEDS, given)
        if _INT32_MIN <= seed <= _INT32_MAX:
            return tf.constant([int(seed), 0], tf.int32)  # what fold_seed gives
        seed = tf.constant([int(seed), 0], tf.int64)
    elif not tf.is_tensor(seed) and not isinstance(seed, (list, tuple, np.ndarray)):
        fail("seed", _SEEDS, given)
    try:
        seed = tf.convert_to_tensor(seed)
    except (TypeError, ValueError):
        fail("seed", _SEEDS, given)
    if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
        fail("seed", _SEEDS, given)
    if seed.dtype != tf.int32:
        seed = fold_seed(tf.cast(seed, tf.int64))
    return seed


def _int_words(seed):
    """An integer seed (a signed 64-bit one) as two unsigned 32-bit words.

    An integer that Keras' `SeedGenerator` holds on the backend (JAX: uint32
    words, `0 <= seed < 2**32`; PyTorch: int32 words, `-2**31 <= seed <
    2**31`) gives `(seed, 0)`, the state `SeedGenerator(seed)` starts from;
    any other is hashed to 64 bits (`_mix64`, a bijection), so distinct
    integers give distinct words and `seed_generator` can start a layer's
    stream at them."""
    if not -(2**63) <= seed < 2**63:
        fail("seed", _SEEDS, seed)
    seed = int(seed)
    low, high = (0, 2**32) if BACKEND == "jax" else (-(2**31), 2**31)
    if low <= seed < high:
        return seed & _MASK32, 0
    mixed = _mix64(seed & _MASK32, (seed >> 32) & _MASK32)
    return mixed & _MASK32, mixed >> 32


def seed_generator(seed):
    """A `keras.random.SeedGenerator` for a layer's integer `seed` (or
    `None`), whose first draw is `stateless_seed(seed)`.

    Keras' own holds every signed 64-bit seed on TensorFlow, but only 32-bit
    ones on JAX and PyTorch: there the state starts at `_int_words(seed)`.
    """
    if BACKEND == "tensorflow" or seed is None:
        return keras.random.SeedGenerator(seed)
    generator = keras.random.SeedGenerator(0)
    words = np.array(_int_words(seed), dtype=np.uint32)
    if BACKEND == "torch":
        words = words.view(np.int32)  # the state's int32, bit for bit
    generator.state.assign(words)
    return generator


def _other_stateless_seed(seed):
    """`stateless_seed` on JAX and PyTorch."""
    given = seed
    if isinstance(seed, keras.random.SeedGenerator):
        seed = seed.next()
    elif seed is None:
        seed = keras.random.randint((2,), 0, 2**31 - 1, seed=None, dtype="int32")
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seed = np.array(_int_words(seed), dtype=np.uint32)
    elif not keras.ops.is_tensor(seed) and not isinstance(seed, (list, tuple, np.ndarray)):
        fail("seed", _SEEDS, given)
    if BACKEND == "jax":
        import jax.numpy as jnp

        try:
            words = jnp.asarray(seed)
        except (TypeError, ValueError):
            fail("seed", _SEEDS, given)
        if words.shape != (2,) or not jnp.issubdtype(words.dtype, jnp.integer):
            fail("seed", _SEEDS, given)
        return words.astype(jnp.uint32)
    import torch

    try:
        words = torch.as_tensor(seed) if keras.ops.is_tensor(seed) else torch.as_tensor(np.asarray(seed))
    except (TypeError, ValueError, RuntimeError):
        fail("seed", _SEEDS, given)
    if tuple(words.shape) != (2,) or words.dtype.is_floating_point or words.dtype == torch.bool:
        fail("seed", _SEEDS, given)
    return words.to(torch.int64)


def split(seed):
    """A second stateless seed derived from `seed` (as `stateless_seed`
    returns it), independent of it: for a second stream of noise."""
    if BACKEND == "tensorflow":
        return tf.random.experimental.stateless_split(seed, 1, alg=rng_alg())[0]
    if BACKEND == "jax":
        import jax

        return jax.random.fold_in(seed, 1)
    import torch

    if seed.device.type == "meta":
        return seed
    low, high = (v & _MASK32 for v in seed.tolist())
    mixed = _mix64(low, high ^ 0x9E3779B9)
    return torch.tensor([mixed & _MASK32, mixed >> 32], dtype=torch.int64)


def _mix64(low, high):
    """SplitMix64's output function of the 64-bit word `(high, low)`: a
    bijection that spreads every input bit over all 64 output bits."""
    z = (((high & _MASK32) << 32) | (low & _MASK32)) + 0x9E3779B97F4A7C15
    z = ((z & _MASK64) ^ ((z & _MASK64) >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK64
    return z ^ (z >> 31)


def fold_seed(seed):
    """An int64 seed pair `[2]` as an int32 pair, distinct pairs kept apart.

    A pair whose two words fit in int32 is kept as it is (so `[s, c]` with
    small `s` and `c`, the usual `SeedGenerator` state, draws exactly what
    it always drew). Any other pair is hashed to 64 bits (SplitMix64's
    finaliser over both words: Steele, Lea and Flood 2014), split into two
    int32 words: distinct pairs then collide with probability about 2^-64,
    where folding the words modulo 2^31 (as Keras does) made the seed
    `2**31` draw exactly what the seed 1 draws.
    """
    low = tf.cast(seed, tf.int32)  # the low 32 bits of each word
    fits = tf.reduce_all(tf.equal(tf.cast(low, tf.int64), seed))
    words = tf.bitcast(seed, tf.uint64)
    mixed = _splitmix64(tf.bitwise.bitwise_xor(_splitmix64(words[0]), words[1]))
    return tf.where(fits, low, tf.bitcast(mixed, tf.int32))


def _splitmix64(z):
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        z = tf.bitwise.bitwise_xor(z, tf.bitwise.right_shift(z, tf.constant(shift, tf.uint64)))
        z = z * tf.constant(factor, tf.uint64)
    return tf.bitwise.bitwise_xor(z, tf.bitwise.right_shift(z, tf.constant(31, tf.uint64)))


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
    if dtype not in ("float32", "float64"):
        # The ops draw float16 and bfloat16 noise in float32 (a float16
        # uniform would round up to 1 and give an infinite Gumbel).
        fail("dtype", "float32 or float64", dtype)
    seed = stateless_seed(seed)
    tiny = np.finfo(dtype).tiny
    if BACKEND == "jax":
        return jax_uniform(shape, seed, dtype, tiny)
    if BACKEND == "torch":
        return torch_uniform(shape, seed, dtype, tiny)
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
        # [0, 1), floored below (a minval of tiny would be folded away, as
        # for float32 below).
        u = tf.random.stateless_uniform(shape, seed=seed, dtype=dtype, alg="threefry")
        return tf.maximum(u, tiny)
    # minval=None (and the default maxval=None): every 64-bit integer.
    bits = tf.random.stateless_uniform(shape, seed=seed, minval=None, dtype=tf.uint64, alg="threefry")
    mantissa = tf.cast(tf.bitwise.right_shift(bits, tf.constant(41, tf.uint64)), tf.uint32)
    one = tf.constant(0x3F800000, tf.uint32)
    u = tf.bitcast(tf.bitwise.bitwise_or(mantissa, one), tf.float32) - 1.0
    # The floor is a maximum, not `u + tiny` (tf.random.stateless_uniform's
    # `u * (maxval - minval) + minval`): XLA reassociates `(b - 1) + tiny`
    # into `b + (tiny - 1)`, which rounds to `b - 1`, so a zero mantissa
    # gave u = 0 and log(0) (about one draw in 2^23: NaN gradients for the
    # conditional-Gumbel estimators within an epoch of the VAE). On the
    # float32 lattice of multiples of 2^-23 the two floors are equal.
    return tf.cast(tf.maximum(u, tiny), dtype)


def jax_uniform(shape, key, dtype, tiny):
    """Threefry-2x32 uniform noise on [tiny, 1) for JAX, from a raw key.

    `jax.random.uniform` (with JAX's default, partitionable Threefry) runs
    one Threefry block per number and uses one of its two output words;
    drawing the bits with `jax.extend.random.threefry_2x32` over counters
    `0..n-1` runs a block per two numbers, as JAX's non-partitionable
    Threefry does, and is 2.5-4x faster on CPU (the Gumbel-softmax layer's
    forward + backward 2.5-3x, measured with jax 0.10.2). float32 takes the
    top 23 bits as its mantissa, as `xla_uniform` and TensorFlow do; float64
    uses `jax.random.uniform`.
    """
    import jax
    import jax.numpy as jnp

    # A dimension may be symbolic (`jax.export` with a polymorphic batch, as
    # Keras' `model.export` traces it): kept as it is, since `int()` of it
    # fails and comparing it is inconclusive. The counters are then built
    # with operations that take symbolic sizes (`iota`, `dynamic_slice`),
    # with the same numbers as for a concrete shape.
    shape = tuple(d if jax.export.is_symbolic_dim(d) else int(d) for d in shape)
    if dtype != "float32":
        # float64 (float32 without jax_enable_x64), floored below as float32 is.
        u = jax.random.uniform(key, shape, dtype=dtype)
        return jnp.maximum(u, jnp.finfo(u.dtype).tiny)
    from jax.extend.random import threefry_2x32

    n = math.prod(shape)
    even = n + n % 2  # threefry_2x32 pairs the counters' two halves
    bits = threefry_2x32(key, jax.lax.iota(jnp.uint32, even))
    bits = jax.lax.dynamic_slice(bits, (0,), (n,))  # the first n, for a symbolic n too
    mantissa = jax.lax.shift_right_logical(bits.reshape(shape), jnp.uint32(9))
    one = jax.lax.bitcast_convert_type(mantissa | jnp.uint32(0x3F800000), jnp.float32)
    # A maximum, as in `xla_uniform` (XLA would fold `+ tiny` away).
    return jnp.maximum(one - 1.0, jnp.float32(tiny))


def torch_uniform(shape, seed, dtype, tiny):
    """`torch.rand` noise on [tiny, 1) from a `torch.Generator` seeded with
    a hash of the stateless seed.

    Keras' own PyTorch draws seed a generator with the sum of the two seed
    words, so a `SeedGenerator(s)`'s k-th draw equals `SeedGenerator(s+1)`'s
    (k-1)-th; the hash (`_mix64`) gives every pair of words its own stream.
    PyTorch's CPU generator (mt19937) keeps 32 bits of a seed, so the hash's
    halves are folded together first.
    """
    import torch

    shape = tuple(int(d) for d in shape)
    torch_dtype = getattr(torch, dtype)
    device = keras.ops.convert_to_tensor(0.0).device
    if device.type == "meta" or seed.device.type == "meta":
        # Symbolic shape inference: no values, no generator.
        return torch.rand(shape, dtype=torch_dtype, device="meta")
    low, high = (v & _MASK32 for v in seed.tolist())
    mixed = _mix64(low, high)
    generator = torch.Generator(device=device)
    generator.manual_seed((mixed ^ (mixed >> 32)) & _MASK64)
    u = torch.rand(shape, generator=generator, dtype=torch_dtype, device=device)
    return torch.clamp_min(u, tiny)  # as `u + tiny` on rand's lattice, and never 0
