import numpy as np
import pytest
from helpers import (
    assert_frequencies,
    compiled,
    dtype_of,
    ks_statistic,
    ks_two_sample_bound,
    normal,
    numpy,
    softmax,
    tensor,
    value_and_grad,
)

import keras
from keras_gumbel import ops as G

LOGITS = np.log(np.array([0.05, 0.15, 0.3, 0.5], dtype=np.float32))
N = 40_000


def tile(logits, n=N):
    return tensor(np.tile(logits, (n, 1)))


def seed_of(a, b):
    """A stateless seed: an integer tensor of shape [2]."""
    return tensor([a, b], "int32")


def counts_of(one_hot):
    one_hot = numpy(one_hot)
    assert np.all(one_hot.sum(-1) == 1) and set(np.unique(one_hot)) <= {0.0, 1.0}
    return one_hot.reshape(-1, one_hot.shape[-1]).sum(0)


def test_sample_gumbel_matches_standard_gumbel_moments():
    g = numpy(G.sample_gumbel((N,), seed=1)).astype(np.float64)
    assert np.isfinite(g).all()
    # Gumbel(0, 1): mean = Euler-Mascheroni, variance = pi^2 / 6.
    mean, var = np.euler_gamma, np.pi**2 / 6
    assert abs(g.mean() - mean) < 5 * np.sqrt(var / N)
    # Var of the sample variance: (mu4 - var^2) / N, mu4 = 5.4 var^2 for Gumbel.
    assert abs(g.var() - var) < 5 * np.sqrt(4.4 * var**2 / N)
    ks = ks_statistic(g, np.random.default_rng(0).gumbel(size=N))
    assert ks < ks_two_sample_bound(N, N)


def test_sample_gumbel_low_precision_is_finite():
    for dtype in ("float16", "bfloat16"):
        g = G.sample_gumbel((N,), seed=2, dtype=dtype)
        assert dtype_of(g) == dtype and np.isfinite(numpy(g).astype(np.float32)).all()


def test_gumbel_max_frequencies_match_softmax():
    counts = counts_of(G.gumbel_max(tile(LOGITS), seed=3))
    assert_frequencies(counts, softmax(LOGITS))


def test_hard_sample_frequencies_match_softmax_and_are_exact_one_hot():
    y = G.gumbel_softmax(tile(LOGITS), 0.5, hard=True, seed=4)
    assert_frequencies(counts_of(y), softmax(LOGITS))


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("temperature", [0.1, 0.7, 3.0])
def test_relaxed_sample_is_tfp_relaxed_one_hot_categorical(temperature):
    import tensorflow as tf
    import tensorflow_probability as tfp

    logits = tf.random.stateless_normal((64, 30, 10), [5, 6]) * 2
    seed = tf.constant([7, 8], tf.int32)
    ours = G.gumbel_softmax(logits, temperature, seed=seed).numpy()
    dist = tfp.distributions.RelaxedOneHotCategorical(temperature, logits=logits)
    theirs = dist.sample(seed=seed).numpy()
    # The same noise; only the last step differs (TFP exponentiates a
    # log-softmax, we take a softmax), so the two agree to float32 rounding:
    # every entry within 3 eps absolutely, and within 16 ulps for entries
    # >= 1e-6 (below, exp(log-softmax) loses relative precision as |log y|
    # grows). Measured on 60 seeds x temperatures 0.05-3: at most 2.5 eps
    # and 12 ulps.
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=3 * eps)
    large = theirs >= 1e-6
    assert large.sum() >= 64 * 30  # every row's largest entry, at least
    np.testing.assert_array_max_ulp(ours[large], theirs[large], maxulp=16)


def test_relaxed_marginals_match_numpy_gumbel_softmax_with_independent_noise():
    ours = numpy(G.gumbel_softmax(tile(LOGITS), 0.5, seed=9))
    theirs = softmax((LOGITS + np.random.default_rng(10).gumbel(size=(N, len(LOGITS)))) / 0.5)
    bound = ks_two_sample_bound(N, N)
    for k in range(len(LOGITS)):
        assert ks_statistic(ours[:, k], theirs[:, k]) < bound


def test_relaxed_sample_is_softmax_of_noisy_logits():
    seed = seed_of(1, 2)
    logits = normal((8, 5), 3)
    g = G.sample_gumbel((8, 5), seed=seed)
    expected = softmax((numpy(logits) + numpy(g)) / 0.3)
    np.testing.assert_allclose(G.gumbel_softmax(logits, 0.3, seed=seed), expected, atol=1e-6)


def test_temperature_near_zero_gives_one_hot_of_gumbel_max():
    seed = seed_of(3, 3)
    y = numpy(G.gumbel_softmax(tile(LOGITS, 2000), 1e-3, seed=seed))
    d = numpy(G.gumbel_max(tile(LOGITS, 2000), seed=seed))
    np.testing.assert_array_equal(y.argmax(-1), d.argmax(-1))
    # max(y) < 0.99 needs a gap < tau * log(99) = 0.0046 between the two
    # largest noisy logits, which has probability < 1% here.
    assert (y.max(-1) > 0.99).mean() > 0.98


def test_large_temperature_gives_near_uniform():
    tau = 1e4
    y = numpy(G.gumbel_softmax(tile(LOGITS, 2000), tau, seed=5))
    # |noisy logit - mean| < 25 with overwhelming probability, so every entry
    # is within 1/K * (exp(50 / tau) - 1) of 1/K.
    k = len(LOGITS)
    np.testing.assert_allclose(y, 1.0 / k, atol=(np.exp(50 / tau) - 1) / k)


def test_relaxed_gradient_matches_hand_computed_reference():
    seed = seed_of(1, 9)
    logits = normal((6, 5), 2)
    w = normal((6, 5), 4)
    tau = 0.6
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(w * G.gumbel_softmax(x, tau, seed=seed)), logits
    )
    g = numpy(G.sample_gumbel((6, 5), seed=seed))
    y = softmax((numpy(logits) + g) / tau)
    w = numpy(w)
    expected = y * (w - (w * y).sum(-1, keepdims=True)) / tau
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


def test_straight_through_forward_is_exact_one_hot_and_gradient_is_relaxed():
    seed = seed_of(2, 5)
    logits = normal((256, 7), 6)
    w = normal((256, 7), 7)
    hard = numpy(G.gumbel_softmax(logits, 0.4, hard=True, seed=seed))
    soft = numpy(G.gumbel_softmax(logits, 0.4, hard=False, seed=seed))
    np.testing.assert_array_equal(hard, np.eye(7)[soft.argmax(-1)])
    _, (hard_grad,) = value_and_grad(
        lambda x: keras.ops.sum(w * G.gumbel_softmax(x, 0.4, hard=True, seed=seed)), logits
    )
    _, (soft_grad,) = value_and_grad(
        lambda x: keras.ops.sum(w * G.gumbel_softmax(x, 0.4, hard=False, seed=seed)), logits
    )
    np.testing.assert_array_equal(hard_grad, soft_grad)


def test_ties_give_exactly_one_hot():
    logits = tensor(np.zeros((10, 4)))
    # Ties in the noisy logits are impossible to force through the noise, so
    # check the one-hot helper that `hard` uses directly on tied rows.
    y = numpy(G.one_hot_argmax(logits))
    np.testing.assert_array_equal(y.sum(-1), 1.0)
    np.testing.assert_array_equal(y[:, 0], 1.0)


def test_axis_argument():
    logits = tensor(np.tile(LOGITS[:, None], (1, N // 4)))  # categories on axis 0
    y = numpy(G.gumbel_softmax(logits, 0.5, hard=True, axis=0, seed=3))
    assert y.shape == logits.shape
    np.testing.assert_array_equal(y.sum(0), 1.0)
    assert_frequencies(y.sum(1), softmax(LOGITS))


@pytest.mark.parametrize("hard", [False, True])
def test_neg_inf_logits_are_never_sampled_and_stay_finite(hard):
    logits = np.array([0.0, -np.inf, 1.0, -np.inf, 0.5], dtype=np.float32)
    x = tile(logits, 20_000)
    w = normal(x.shape, 1)
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(w * G.gumbel_softmax(x, 0.5, hard=hard, seed=11)), x
    )
    y = numpy(G.gumbel_softmax(x, 0.5, hard=hard, seed=11))
    assert np.isfinite(y).all() and np.isfinite(grad).all()
    assert (y[:, [1, 3]] == 0).all()
    assert_frequencies(np.bincount(y.argmax(-1), minlength=5), softmax(logits))
    d = numpy(G.gumbel_max(x, seed=12))
    assert (d[:, [1, 3]] == 0).all()


@pytest.mark.parametrize("hard", [False, True])
def test_huge_finite_logits_stay_finite(hard):
    x = tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(G.gumbel_softmax(x, 0.1, hard=hard, seed=1)), x
    )
    y = numpy(G.gumbel_softmax(x, 0.1, hard=hard, seed=1))
    assert np.isfinite(y).all()
    assert np.isfinite(grad).all()
    np.testing.assert_array_equal(y.argmax(-1), [0, 2])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("hard", [False, True])
def test_low_precision_inputs(dtype, hard):
    x = keras.ops.cast(tile(LOGITS * 50, 4000), dtype)  # large logits: spread > f16 safe softmax range
    weights = tensor(np.arange(4), "float32")
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(
            keras.ops.cast(G.gumbel_softmax(x, 0.05, hard=hard, seed=3), "float32") * weights
        ),
        x,
    )
    y = G.gumbel_softmax(x, 0.05, hard=hard, seed=3)
    assert dtype_of(y) == dtype
    assert dtype_of(grad) == dtype
    y32 = numpy(keras.ops.cast(y, "float32"))
    assert np.isfinite(y32).all() and np.isfinite(grad.astype(np.float32)).all()
    np.testing.assert_allclose(y32.sum(-1), 1.0, atol=1e-2)
    if hard:
        assert set(np.unique(y32)) <= {0.0, 1.0}
    d = G.gumbel_max(x, seed=4)
    assert dtype_of(d) == dtype


def test_seeds_reproduce_and_generators_advance():
    x = tile(LOGITS, 100)
    def sample(seed):
        return numpy(G.gumbel_softmax(x, 1.0, seed=seed))

    np.testing.assert_array_equal(sample(5), sample(5))
    assert not np.array_equal(sample(5), sample(6))
    np.testing.assert_array_equal(sample(seed_of(5, 7)), sample(seed_of(5, 7)))
    assert not np.array_equal(sample(seed_of(5, 7)), sample(seed_of(5, 8)))
    gen_a, gen_b = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
    a = [sample(gen_a) for _ in range(3)]
    b = [sample(gen_b) for _ in range(3)]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


@pytest.mark.tensorflow_only
def test_xla_compiled_sampling_has_the_right_distribution():
    import tensorflow as tf

    # Inside XLA the noise comes from Threefry instead of Philox.
    fn = tf.function(lambda x, s: G.gumbel_softmax(x, 0.5, hard=True, seed=s), jit_compile=True)
    y = fn(tile(LOGITS), tf.constant([1, 2], tf.int32))
    assert_frequencies(counts_of(y), softmax(LOGITS))


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf"), "1", True, None])
def test_bad_temperature_is_refused(temperature):
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, received temperature="):
        G.gumbel_softmax(tile(LOGITS, 2), temperature)


def test_bad_arguments_are_refused():
    x = tile(LOGITS, 2)
    with pytest.raises(TypeError, match="logits must be a floating-point tensor.*int32"):
        G.gumbel_softmax(tensor([[1, 2]], "int32"), 1.0)
    with pytest.raises(TypeError, match="int16"):
        G.gumbel_max(tensor([[1, 2]], "int16"))  # (JAX has no int64 without x64)
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 2\).*axis=2"):
        G.gumbel_softmax(x, 1.0, axis=2)
    with pytest.raises(ValueError, match="hard must be True or False, received hard='yes'"):
        G.gumbel_softmax(x, 1.0, hard="yes")
    with pytest.raises(ValueError, match="estimator must be one of .* received estimator='nope'"):
        G.gumbel_softmax(x, 1.0, estimator="nope")
    with pytest.raises(ValueError, match="seed must be None, an integer.*received seed='7'"):
        G.gumbel_softmax(x, 1.0, seed="7")
    with pytest.raises(ValueError, match="shape \\[2\\].*received seed=\\[1, 2, 3\\]"):
        G.gumbel_softmax(x, 1.0, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="shape \\[2\\].*received seed=\\[0.5, 1.0\\]"):
        G.gumbel_softmax(x, 1.0, seed=[0.5, 1.0])
    with pytest.raises(ValueError, match="samples must be an integer >= 1, received samples=0"):
        G.gumbel_softmax(x, 1.0, samples=0)
    with pytest.raises(ValueError, match="axis must be an integer in .*received axis=True"):
        G.one_hot_argmax(x, axis=True)
    with pytest.raises(TypeError, match="dtype must be a floating-point dtype"):
        G.sample_gumbel((2,), dtype="int32")


def test_trainable_temperature_gradient_is_finite_with_neg_inf_logits():
    x = tensor([[0.0, -np.inf, 1.0], [2.0, 0.0, -np.inf]])
    tau = keras.Variable(0.5, trainable=True)
    weights = tensor([1.0, 2.0, 3.0])
    _, (grad,) = value_and_grad(
        lambda t: keras.ops.sum(G.gumbel_softmax(x, t, seed=1) * weights), tau
    )
    y = numpy(G.gumbel_softmax(x, tau, seed=1))
    g = numpy(G.sample_gumbel((2, 3), seed=1))
    z = (numpy(x) + g) / 0.5
    s = softmax(z)
    # d/dtau softmax(z)_k with z = (x + g) / tau: -s_k (z_k - <s, z>) / tau, over finite z.
    zf = np.where(np.isfinite(z), z, 0.0)
    expected = (-(s * (zf - (s * zf).sum(-1, keepdims=True))) / 0.5 * [1.0, 2.0, 3.0]).sum()
    assert np.isfinite(grad)
    np.testing.assert_allclose(grad, expected, rtol=1e-4)
    assert (y[[0, 1], [1, 2]] == 0).all()


# Rows that define no distribution: one rule for every op and backend --------

SAMPLERS = {
    **{
        estimator: lambda x, t, seed, e=estimator: G.gumbel_softmax(
            x, t, estimator=e, hard=e != "relaxed", samples=2 if e == "gumbel_rao" else 1, seed=seed
        )
        for estimator in G.ESTIMATORS
    },
    "gumbel_max": lambda x, t, seed: G.gumbel_max(x, seed=seed),
    "one_hot_argmax": lambda x, t, seed: G.one_hot_argmax(x),
}


@pytest.mark.parametrize("op", sorted(SAMPLERS))
def test_a_row_without_a_distribution_is_a_row_of_nan(op):
    # A NaN logit, every logit -inf, or a NaN beside a +inf: no distribution.
    good = np.tile(np.array([0.5, -1.0, 2.0], np.float32), (6, 1))
    bad = good.copy()
    bad[0, 1] = np.nan
    bad[2] = -np.inf
    bad[4] = [np.inf, np.nan, 0.0]
    sample = SAMPLERS[op]
    seed = seed_of(4, 2)
    y = numpy(sample(tensor(bad), 1.5, seed))
    assert np.isnan(y[[0, 2, 4]]).all()
    # The other rows are untouched: those of the same draw on good logits.
    np.testing.assert_array_equal(y[[1, 3, 5]], numpy(sample(tensor(good), 1.5, seed))[[1, 3, 5]])
    if op not in ("gumbel_max", "one_hot_argmax"):
        _, (grad,) = value_and_grad(lambda x: keras.ops.sum(sample(x, 1.5, seed)[1::2]), tensor(bad))
        assert np.isfinite(grad[1::2]).all()


@pytest.mark.parametrize("hard", [False, True])
def test_relaxed_bernoulli_nan_log_odds_give_nan(hard):
    x = tensor([[np.nan, 0.5, -np.inf, np.inf]])
    y = numpy(G.relaxed_bernoulli(x, 0.5, hard=hard, seed=1))
    assert np.isnan(y[0, 0]) and np.isfinite(y[0, 1:]).all()
    np.testing.assert_array_equal(y[0, 2:], [0.0, 1.0])


def test_layer_inference_modes_follow_the_nan_rule():
    from keras_gumbel import GumbelSoftmax, RelaxedBernoulli

    x = tensor([[np.nan, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [0.0, 2.0, 1.0]])
    for inference in ("argmax", "softmax", "sample"):
        y = numpy(GumbelSoftmax(inference=inference, seed=1)(x))
        assert np.isnan(y[:2]).all() and np.isfinite(y[2]).all(), inference
    y = numpy(RelaxedBernoulli()(x))
    assert np.isnan(y[0, 0]) and np.isfinite(y[0, 1:]).all()


# One category: the sample is exactly 1 --------------------------------------------


@pytest.mark.parametrize("estimator", G.ESTIMATORS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_one_category_gives_exactly_one(estimator, dtype):
    x = keras.ops.cast(normal((500, 1), 3) * 30, dtype)
    for temperature in (0.05, 1.0, 7.0):
        if estimator == "reinmax" and temperature < 1:
            continue
        y = G.gumbel_softmax(x, temperature, estimator=estimator, hard=estimator != "relaxed", seed=5)
        assert dtype_of(y) == dtype
        np.testing.assert_array_equal(numpy(keras.ops.cast(y, "float32")), 1.0)
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(G.gumbel_softmax(x, 1.5, estimator=estimator, hard=estimator != "relaxed", seed=5)),
        normal((50, 1), 3),
    )
    np.testing.assert_array_equal(grad, 0.0)
    ends = numpy(G.gumbel_softmax(tensor([[np.inf], [-np.inf], [np.nan]]), 1.5, estimator=estimator,
                                  hard=estimator != "relaxed", seed=1))
    assert ends[0, 0] == 1.0 and np.isnan(ends[1:]).all()


def test_one_category_layer_outputs_are_exactly_one():
    from keras_gumbel import GumbelSoftmax

    x = normal((200, 3, 1), 1) * 30
    for inference in ("argmax", "softmax", "sample"):
        np.testing.assert_array_equal(numpy(GumbelSoftmax(temperature=0.3, inference=inference, seed=2)(x)), 1.0)


@pytest.mark.tensorflow_only
def test_one_category_is_exactly_one_in_compiled_functions():
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).normal(size=(300, 1)).astype("float32") * 30)
    for jit_compile in (False, True):
        fn = tf.function(lambda x, s: G.gumbel_softmax(x, 0.3, seed=s), jit_compile=jit_compile)
        np.testing.assert_array_equal(fn(x, tf.constant([1, 2])).numpy(), 1.0)


# The temperature: a floor, and one number -------------------------------------------


def test_the_smallest_temperature_gives_the_gumbel_max_one_hot():
    x, seed = normal((2000, 6), 2) * 3, seed_of(7, 1)
    assert G.MIN_TEMPERATURE == 1e-30
    # The one-hot up to float32 rounding of the softmax's division (some CPU
    # kernels return 1 - 2**-24 for a row's whole mass), not a tie of
    # overflowed entries.
    ulp = np.finfo("float32").eps
    y = numpy(G.gumbel_softmax(x, G.MIN_TEMPERATURE, seed=seed))
    np.testing.assert_allclose(y, numpy(G.gumbel_max(x, seed=seed)), rtol=0, atol=ulp)
    bits = numpy(G.relaxed_bernoulli(x, G.MIN_TEMPERATURE, seed=seed))
    hard_bits = numpy(G.relaxed_bernoulli(x, 1.0, hard=True, seed=seed))
    np.testing.assert_allclose(bits, hard_bits, rtol=0, atol=ulp)


@pytest.mark.parametrize("temperature", [9.9e-31, 1e-38, 1e-45, 1e-46])
def test_temperatures_below_the_floor_are_refused(temperature):
    from keras_gumbel import GumbelSoftmax, RelaxedBernoulli

    match = rf"temperature must be a finite number >= 1e-30 \(.*\), received temperature={temperature!r}"
    x = tile(LOGITS, 2)
    with pytest.raises(ValueError, match=match):
        G.gumbel_softmax(x, temperature)
    with pytest.raises(ValueError, match=match):
        G.relaxed_bernoulli(x, temperature)
    with pytest.raises(ValueError, match=match):
        GumbelSoftmax(temperature=temperature)
    with pytest.raises(ValueError, match="min_temperature must be a finite number >= 1e-30"):
        RelaxedBernoulli(min_temperature=temperature, trainable_temperature=True)
    variable = keras.Variable(1.0)
    variable.assign(temperature)  # float32: 1e-46 is 0 there
    with pytest.raises(ValueError, match="temperature must be a finite number"):
        G.gumbel_softmax(x, variable)


@pytest.mark.tensorflow_only
def test_a_traced_temperature_below_the_floor_fails_at_run_time():
    import tensorflow as tf

    traced = tf.function(lambda t: G.gumbel_softmax(tile(LOGITS, 2), t, seed=tf.constant([1, 2])))
    assert np.isfinite(traced(tf.constant(1e-30)).numpy()).all()
    with pytest.raises(tf.errors.InvalidArgumentError, match=">= 1e-30"):
        traced(tf.constant(1e-45))


@pytest.mark.parametrize(
    "temperature, shape",
    [([0.5, 1.0, 2.0], r"\(3,\)"), (np.array([[0.5]]), r"\(1, 1\)"), ("tensor", r"\(4,\)"), ("variable", r"\(3,\)")],
)
def test_a_temperature_with_a_shape_is_refused_for_its_shape(temperature, shape):
    from keras_gumbel import GumbelSoftmax

    if temperature == "tensor":
        temperature = tensor([0.5, 1.0, 2.0, 3.0])
    elif temperature == "variable":
        temperature = keras.Variable([0.5, 1.0, 2.0])
    match = rf"temperature must be a scalar \(one number, or a tensor or variable of shape \(\)\), received temperature of shape {shape}"
    x = tile(LOGITS, 2)
    for op in (lambda: G.gumbel_softmax(x, temperature), lambda: G.relaxed_bernoulli(x, temperature)):
        with pytest.raises(ValueError, match=match):
            op()
    if not keras.ops.is_tensor(temperature) and not isinstance(temperature, keras.Variable):
        with pytest.raises(ValueError, match=match):
            GumbelSoftmax(temperature=temperature)


@pytest.mark.tensorflow_only
def test_a_traced_temperature_with_a_shape_is_refused_when_traced():
    import tensorflow as tf

    traced = tf.function(lambda t: G.gumbel_softmax(tile(LOGITS, 2), t, seed=1))
    with pytest.raises(ValueError, match=r"must be a scalar .*received temperature of shape \(3,\)"):
        traced(tf.constant([0.5, 1.0, 2.0]))


def test_compiled_uniform_noise_is_floored_at_tiny_never_zero():
    # The uniform's floor was `u + tiny`, which XLA reassociates away: a
    # zero mantissa (one draw in 2^23; 2^24 on PyTorch) gave u = 0, so
    # log(-log u) = inf and NaN gradients from the conditional Gumbels.
    # Over 48 x 2^20 draws the floor is hit (about 6 times expected on
    # TensorFlow and JAX, P(never) = e^-6 = 2.5e-3; these seeds do hit it);
    # no draw lies below it.
    from keras_gumbel import _random

    tiny = np.finfo(np.float32).tiny
    draw = compiled(lambda seed: _random.uniform((1 << 20,), seed, "float32"))
    floor_hits = 0
    for s in range(48):
        u = numpy(draw(_random.stateless_seed(s)))
        assert u.min() >= tiny and u.max() < 1.0
        floor_hits += int(np.sum(u == tiny))
    assert floor_hits > 0


def _compiled_gradient(loss):
    """`x, seed -> d loss(x, seed) / dx`, compiled (XLA) on TensorFlow and
    JAX, eager on PyTorch."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def gradient(x, seed):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = loss(x, seed)
            return tape.gradient(y, x)

        return compiled(gradient)
    if backend == "jax":
        import jax

        return compiled(jax.grad(loss))
    return lambda x, seed: value_and_grad(lambda t: loss(t, seed), x)[1][0]


@pytest.mark.parametrize("estimator", ["gumbel_rao", "reinmax_rao", "reinmax_cv"])
def test_conditional_gumbel_gradients_stay_finite_when_compiled(estimator):
    # Before the floor was mended, one XLA call in 200 of ReinMax-CV on a
    # 100 x 30 x 10 batch (3e5 conditional draws) had a NaN gradient
    # (seeds [242, 7] and [297, 7]): the VAE's loss was NaN within its
    # first epoch. 120 calls of 3e5 draws here, those seeds among them.
    x = tensor(np.random.RandomState(0).randn(100, 30, 10) * 3.0)
    w = tensor(np.random.RandomState(1).randn(100, 30, 10))
    gradient = _compiled_gradient(lambda logits, seed: keras.ops.sum(
        G.gumbel_softmax(logits, 1.0, hard=True, estimator=estimator, samples=10, seed=seed) * w))
    seeds = [[242, 7], [297, 7]] + [[s, 7] for s in range(118)]
    for seed in seeds:
        g = numpy(gradient(x, tensor(seed, "int32")))
        assert np.isfinite(g).all(), seed
