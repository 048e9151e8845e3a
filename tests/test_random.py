"""keras_gumbel._random on every backend: the seeds a layer and the ops take,
the hashes that keep distinct seeds apart, the second stream of `split`,
and the uniform noise (eager and compiled) that every sample is made from."""

import math

import numpy as np
import pytest
from helpers import compiled, numpy, tensor

import keras
from keras_gumbel import _random

BACKEND = keras.backend.backend()
MASK32, MASK64 = 2**32 - 1, 2**64 - 1
GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment
# Integers a layer's `seed` may be: small ones, the edges of 32 and 64 bits.
SEEDS = (0, 1, 5, 2**31 - 1, 2**31, 2**32 - 1, 2**32, -1, -(2**31), -(2**31) - 1, -(2**63), 2**63 - 1)


def mix13(z):
    """Stafford's Mix13, SplitMix64's output function, written out here as
    Steele, Lea and Flood (2014) give it."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & MASK64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & MASK64
    return z ^ (z >> 31)


def words(seed):
    """A stateless seed of any backend as its two unsigned 32-bit words."""
    return tuple(int(v) & MASK32 for v in numpy(seed).tolist())


def test_mix64_is_splitmix64():
    # The first outputs of SplitMix64 started at 0 (Vigna's splitmix64.c):
    # the state advances by GAMMA and each output is Mix13 of the state.
    assert [mix13(k * GAMMA & MASK64) for k in (1, 2, 3, 4)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F, 0xF88BB8A8724C81EC]
    state = 0
    for _ in range(4):
        assert _random._mix64(state & MASK32, state >> 32) == mix13((state + GAMMA) & MASK64)
        state = (state + GAMMA) & MASK64
    # Every 64-bit word, the high half included: flipping any one input bit
    # flips about half the output bits (avalanche), never none.
    rng = np.random.default_rng(0)
    for word in [int(w) for w in rng.integers(0, 2**63, size=8, dtype=np.int64)] + [MASK64]:
        assert _random._mix64(word & MASK32, word >> 32) == mix13((word + GAMMA) & MASK64)
        flips = [bin(_random._mix64(word & MASK32, word >> 32)
                     ^ _random._mix64((word ^ 1 << b) & MASK32, (word ^ 1 << b) >> 32)).count("1")
                 for b in range(64)]
        assert min(flips) > 0 and 16 < np.mean(flips) < 48


def test_int_words_keep_what_the_generator_holds_and_hash_the_rest():
    # JAX's SeedGenerator holds uint32 words, PyTorch's int32 ones: an
    # integer that fits is kept as (seed, 0); any other is Mix13-hashed.
    low, high = (0, 2**32) if BACKEND == "jax" else (-(2**31), 2**31)
    for seed in SEEDS:
        got = _random._int_words(seed)
        if low <= seed < high:
            assert got == (seed & MASK32, 0), seed
        else:
            mixed = mix13(((seed & MASK64) + GAMMA) & MASK64)
            assert got == (mixed & MASK32, mixed >> 32), seed
    assert len({_random._int_words(s) for s in SEEDS}) == len(SEEDS)
    for seed in (2**63, -(2**63) - 1):
        with pytest.raises(ValueError, match=f"seed must be None, an integer.*received seed={seed}"):
            _random._int_words(seed)


@pytest.mark.tensorflow_only
def test_fold_seed_keeps_int32_pairs_and_hashes_the_others():
    import tensorflow as tf

    for pair in ([0, 0], [5, 7], [-(2**31), 2**31 - 1], [-1, -1]):
        folded = _random.fold_seed(tf.constant(pair, tf.int64))
        assert folded.dtype == tf.int32 and folded.numpy().tolist() == pair
    pairs = [[2**31, 0], [0, 2**31], [2**32, 1], [-(2**63), 0], [2**63 - 1, -1], [1, 2**40]]
    seen = set()
    for pair in pairs:
        w0, w1 = (v & MASK64 for v in pair)
        mixed = mix13(mix13(w0) ^ w1)
        got = words(_random.fold_seed(tf.constant(pair, tf.int64)))
        assert got == (mixed & MASK32, mixed >> 32), pair
        seen.add(got)
    assert len(seen) == len(pairs)


def test_a_layer_seed_generator_first_draws_the_integer_seed():
    # `seed_generator(s)` starts where the integer `s` stands: its first
    # draw is `stateless_seed(s)`'s noise, then it advances, on every
    # backend and for every signed 64-bit seed.
    firsts = set()
    for seed in SEEDS:
        generator = _random.seed_generator(seed)
        first, second = _random.stateless_seed(generator), _random.stateless_seed(generator)
        assert words(first) == words(_random.stateless_seed(seed)), seed
        np.testing.assert_array_equal(numpy(_random.uniform((64,), first, "float32")),
                                      numpy(_random.uniform((64,), seed, "float32")))
        assert words(second) != words(first)
        firsts.add(words(first))
    assert len(firsts) == len(SEEDS)
    # A seed that Keras' own generator holds starts it at the same state.
    for seed in (0, 5, 2**31 - 1):
        assert words(_random.seed_generator(seed).state) == words(keras.random.SeedGenerator(seed).state)
    # None: a generator of its own, seeded at random.
    a, b = _random.seed_generator(None), _random.seed_generator(None)
    assert isinstance(a, keras.random.SeedGenerator)
    assert words(_random.stateless_seed(a)) != words(_random.stateless_seed(b))


def test_stateless_seed_takes_every_accepted_seed_and_refuses_the_rest():
    for seed in (7, [3, 4], np.array([3, 4], np.int64), tensor([3, 4], "int32"),
                 keras.random.SeedGenerator(2), None):
        got = _random.stateless_seed(seed)
        assert tuple(numpy(got).shape) == (2,)
        assert np.issubdtype(numpy(got).dtype, np.integer)
    assert words(_random.stateless_seed([3, 4])) == (3, 4)
    assert words(_random.stateless_seed(np.array([3, 4], np.int64))) == (3, 4)
    assert words(_random.stateless_seed(7)) == (7, 0)
    assert words(_random.stateless_seed(None)) != words(_random.stateless_seed(None))
    message = "seed must be None, an integer in \\[-2\\*\\*63, 2\\*\\*63 - 1\\], a keras.random.SeedGenerator"
    for bad in (True, 1.5, "7", 2**63, -(2**63) - 1, [1, 2, 3], [[1, 2]], [1.0, 2.0], np.zeros(2), object(),
                [1, "2"], [[1], [2, 3]]):  # the last two: no tensor at all
        with pytest.raises(ValueError, match=message) as info:
            _random.stateless_seed(bad)
        assert str(info.value).endswith(f", received seed={bad!r}")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "int32"])
def test_uniform_noise_is_float32_or_float64_only(dtype):
    # The ops draw low-precision noise in float32: a float16 uniform would
    # round its top values up to 1 and make an infinite Gumbel.
    with pytest.raises(ValueError) as info:
        _random.uniform((4,), 0, dtype)
    assert str(info.value) == f"dtype must be float32 or float64, received dtype={dtype!r}"


def test_split_gives_a_second_independent_reproducible_stream():
    n = 100_000
    seeds = [_random.stateless_seed(s) for s in (0, 1, 2**40, -5)]
    splits = [_random.split(s) for s in seeds]
    assert len({words(s) for s in seeds + splits}) == 2 * len(seeds)
    for seed, second in zip(seeds, splits):
        assert words(_random.split(seed)) == words(second)  # reproducible
        a = numpy(_random.uniform((n,), seed, "float32"))
        b = numpy(_random.uniform((n,), second, "float32"))
        # Independent of the first stream: uncorrelated, and no shift of it.
        assert abs(np.corrcoef(a, b)[0, 1]) < 5 / math.sqrt(n)
        assert abs(np.corrcoef(a[1:], b[:-1])[0, 1]) < 5 / math.sqrt(n)
        assert abs(b.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    # Seeds that differ in either word split apart, and every bit of the
    # split seeds' two words is set in about half of them (binomial
    # standard error): no word or bit of the new seed is fixed or lost.
    pairs = [[1, h] for h in range(128)] + [[lo, 1] for lo in range(2, 130)]
    split_words = np.array([words(_random.split(_random.stateless_seed(p))) for p in pairs],
                           dtype=np.uint64)
    assert len({tuple(w) for w in split_words}) == len(pairs)
    assert len(set(split_words[:, 0])) == len(set(split_words[:, 1])) == len(pairs)
    bits = (split_words[:, :, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1)
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 5 * math.sqrt(0.25 / len(pairs)))


# The finest grid of each float32 generator: TensorFlow and JAX take 23
# random bits for a float32, torch.rand 24.
BITS = 24 if BACKEND == "torch" else 23


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_float32_uniform_noise_is_uniform_on_its_whole_grid(mode):
    n = 1 << 18
    tiny = np.finfo(np.float32).tiny
    draw = (lambda s: _random.uniform((n,), s, "float32"))
    if mode == "compiled":
        draw = compiled(draw)
    u = numpy(draw(_random.stateless_seed([11, 3])))
    assert u.dtype == np.float32 and u.shape == (n,)
    assert u.min() >= tiny and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)
    counts = np.histogram(u, bins=16, range=(0.0, 1.0))[0]
    assert np.all(np.abs(counts / n - 1 / 16) < 5 * math.sqrt(1 / 16 * 15 / 16 / n))
    # Every value but the floor lies on the grid of multiples of 2^-BITS,
    # and all BITS bits are random: the lowest is set in half the values,
    # and values below 2^-10 are as frequent as they should be.
    k = u[u > tiny].astype(np.float64) * 2.0**BITS
    np.testing.assert_array_equal(k, np.round(k))
    odd = np.mean(k % 2 == 1)
    assert abs(odd - 0.5) < 5 * math.sqrt(0.25 / k.size)
    small = np.mean(u < 2.0**-10)
    assert abs(small - 2.0**-10) < 5 * math.sqrt(2.0**-10 / n)
    # Successive values are uncorrelated, as are the two halves of each
    # generator block, and another seed gives other noise.
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(u[0::2], u[1::2])[0, 1]) < 5 / math.sqrt(n / 2)
    other = numpy(draw(_random.stateless_seed([11, 4])))
    assert np.mean(u == other) < 1e-3


@pytest.mark.parametrize("shape", [(3, 5), (1,), (7, 1, 3), (0, 4)])
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_uniform_noise_takes_any_shape_and_each_seed_replays(shape, mode):
    draw = (lambda s: _random.uniform(shape, s, "float32"))
    if mode == "compiled":
        draw = compiled(draw)
    u = numpy(draw(_random.stateless_seed(4)))
    assert u.shape == shape
    np.testing.assert_array_equal(u, numpy(draw(_random.stateless_seed(4))))
    if u.size > 1:
        assert len(np.unique(u)) == u.size  # distinct values, no block repeated
    assert np.all(np.isfinite(u)) and (u.size == 0 or u.min() > 0)


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_float64_uniform_noise_is_uniform_and_finer_than_float32(mode):
    if BACKEND == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            # Without jax_enable_x64 JAX has no float64: the noise is float32.
            with pytest.warns(UserWarning, match="float64 is not available"):
                u = numpy(_random.uniform((8, 3), _random.stateless_seed(1), "float64"))
            assert u.dtype == np.float32 and u.shape == (8, 3)
            assert u.min() >= np.finfo(np.float32).tiny and u.max() < 1 and len(np.unique(u)) == 24
            return
    n = 1 << 17
    draw = (lambda s: _random.uniform((n,), s, "float64"))
    if mode == "compiled":
        draw = compiled(draw)
    u = numpy(draw(_random.stateless_seed([2, 9])))
    assert u.dtype == np.float64
    assert u.min() >= np.finfo(np.float64).tiny and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)
    # Off float32's grid: more than 24 random bits.
    assert np.mean(u * 2.0**24 != np.round(u * 2.0**24)) > 0.99


@pytest.mark.tensorflow_only
def test_replica_seed_folds_in_the_replica_index_with_several_replicas():
    # Several replicas need several devices, set before TensorFlow starts
    # (tests/test_distribute.py runs them in a subprocess); here a replica
    # context of 4 replicas stands in for one, to check the fold itself.
    import types
    from unittest import mock

    import tensorflow as tf

    seed = tf.constant([12, 34], tf.int32)
    # One replica, and the cross-replica context (no replica context at
    # all): the seed unchanged.
    assert _random.replica_seed(seed) is seed
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert tf.distribute.get_replica_context() is None
        assert _random.replica_seed(seed) is seed
    folded = []
    for replica in range(4):
        context = types.SimpleNamespace(num_replicas_in_sync=4,
                                        replica_id_in_sync_group=tf.constant(replica, tf.int32))
        with mock.patch.object(tf.distribute, "get_replica_context", return_value=context):
            for dtype in (tf.int32, tf.int64):
                got = _random.replica_seed(tf.cast(seed, dtype))
                assert got.dtype == dtype
                expected = tf.random.experimental.stateless_fold_in(
                    tf.cast(seed, dtype), tf.constant(replica, dtype), alg="philox")
                assert got.numpy().tolist() == expected.numpy().tolist()
            folded.append(words(_random.replica_seed(seed)))
            # Through a generator, as a layer draws: the replica's own seed.
            # (A generator's state is int64: folded in, then made int32.)
            drawn = words(_random.stateless_seed(keras.random.SeedGenerator(7)))
            assert drawn == words(_random.fold_seed(_random.replica_seed(tf.constant([7, 0], tf.int64))))
            assert drawn != (7, 0)
    assert len(set(folded)) == 4 and words(seed) not in folded


@pytest.mark.tensorflow_only
def test_the_algorithm_is_threefry_inside_xla_and_philox_elsewhere():
    # Philox compiles to a generator about 100x slower than Threefry under
    # XLA on CPU (benchmarks/xla_noise.py), and Threefry does not run
    # outside XLA: the algorithm is chosen when the op is traced.
    import tensorflow as tf

    seen = []

    def trace():
        seen.append(_random.rng_alg())
        return tf.constant(0)

    tf.function(trace, jit_compile=True)()
    tf.function(trace)()
    assert seen == ["threefry", "philox"]
    assert _random.rng_alg() == "philox"
    # What XLA compiles: every random draw of the noise and of `split` is
    # a Threefry generator (the HLO names the algorithm of each).
    import re

    seed = tf.constant([1, 2], tf.int32)
    for fn in (lambda s: _random.uniform([8], s, "float32"),
               lambda s: _random.uniform([8], s, "float64"),
               lambda s: _random.uniform([8], _random.split(s), "float32")):
        hlo = tf.function(fn, jit_compile=True).experimental_get_compiler_ir(seed)(stage="hlo")
        assert set(re.findall(r"algorithm=(\w+)", hlo)) == {"rng_three_fry"}


@pytest.mark.parametrize("estimator", ["straight_through", "gumbel_rao"])
def test_the_noise_builds_symbolically_inside_a_layer_without_an_output_shape(estimator):
    # A layer that calls the ops and says nothing of its output shape is
    # built by running its `call` on symbolic tensors (on PyTorch: on the
    # meta device, where there are no values to seed a generator with).
    from keras_gumbel import ops as G

    class Noisy(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(3)

        def call(self, x):
            return G.gumbel_softmax(x, 0.5, hard=True, estimator=estimator, seed=self.seed_generator)

    inputs = keras.Input((2, 5))
    outputs = Noisy()(inputs)
    assert tuple(outputs.shape) == (None, 2, 5)
    y = numpy(keras.Model(inputs, outputs)(tensor(np.zeros((4, 2, 5)))))
    assert y.shape == (4, 2, 5) and np.all(y.sum(-1) == 1.0)
