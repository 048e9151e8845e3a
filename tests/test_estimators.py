"""The gradient estimators of `ops.gumbel_softmax`, checked against theory.

The test problem is small enough to enumerate: 3 categorical variables with
4 categories each (64 joint states), so the exact gradient of E[f(D)] with
respect to the logits is a finite sum. Each estimator is drawn N times in one
call (a batch of N independent copies of the logits, whose per-copy gradients
are N independent draws of the estimator), which gives its mean and variance;
every tolerance is a number of standard errors of those N draws.
"""

import functools
import itertools
import json

import numpy as np
import pytest
from helpers import (
    Z,
    assert_frequencies,
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
from keras_gumbel import GumbelSoftmax
from keras_gumbel import ops as G

# Every estimator with an exact one-hot forward pass: all but "relaxed", so
# an estimator added to ops.ESTIMATORS is tested here without a new line.
HARD_ESTIMATORS = tuple(e for e in G.ESTIMATORS if e != "relaxed")
SAMPLES = {e: 4 for e in G.MULTI_SAMPLE}

V, C = 3, 4
_rng = np.random.default_rng(0)
THETA = _rng.normal(size=(V, C))
_A = _rng.normal(size=(V * C, V * C))
QUAD_A, QUAD_B = (_A + _A.T) / 2, _rng.normal(size=V * C)
TABLE = _rng.normal(size=(C,) * V)
N = 20_000


def quadratic(d):
    """f(x) = x'Ax / 2 + b'x on the concatenated one-hots."""
    x = keras.ops.reshape(d, (-1, V * C))
    a, b = tensor(QUAD_A, dtype_of(d)), tensor(QUAD_B, dtype_of(d))
    return 0.5 * keras.ops.einsum("ni,ij,nj->n", x, a, x) + keras.ops.matmul(x, b)


def table(d):
    """A random function of the 64 joint states, extended multilinearly."""
    return keras.ops.einsum("na,nb,nc,abc->n", d[:, 0], d[:, 1], d[:, 2], tensor(TABLE, dtype_of(d)))


FUNCTIONS = {"quadratic": quadratic, "table": table}


def exact_gradient(name):
    """d/dθ E[f(D)] = Σ_s p(s) f(s) (D_s - π), summed over the 64 states."""
    states = np.eye(C)[list(itertools.product(range(C), repeat=V))]
    pi = softmax(THETA)
    p = np.prod((states * pi).sum(-1), axis=-1)
    values = numpy(FUNCTIONS[name](tensor(states, "float32"))).astype(np.float64)
    return np.einsum("s,s,svc->vc", p, values, states - pi)


@functools.lru_cache(maxsize=None)
def draws(estimator, name, temperature=1.0, samples=1, **options):
    """N independent draws of the estimator of d/dθ E[f(D)], shape (N, V, C).

    Every call uses the same seed, so all estimators see the same N samples D.
    """
    theta = tensor(np.tile(THETA.astype(np.float32), (N, 1, 1)))
    seed = tensor([1, 2], "int32")

    def total(theta):
        d = G.gumbel_softmax(
            theta, temperature, estimator=estimator, samples=samples, seed=seed, **options
        )
        return keras.ops.sum(FUNCTIONS[name](d))

    return value_and_grad(total, theta)[1][0].astype(np.float64)


def mean_and_se(g):
    return g.mean(0), g.std(0, ddof=1) / np.sqrt(len(g))


def total_variance(g):
    """The trace of the covariance, with its standard error."""
    s = ((g - g.mean(0)) ** 2).sum(axis=(1, 2))
    return s.mean(), s.std(ddof=1) / np.sqrt(len(s))


def bias_norm(g, exact):
    """|E[g] - exact| estimated, with a bound on its sampling error."""
    mean, se = mean_and_se(g)
    return np.linalg.norm(mean - exact), np.sqrt((se**2).sum())


# Forward pass ---------------------------------------------------------------

LOGITS = np.log(np.array([0.05, 0.15, 0.3, 0.5], dtype=np.float32))


def tile(logits, n):
    return tensor(np.tile(logits, (n, 1)))


@pytest.mark.parametrize("estimator", HARD_ESTIMATORS)
def test_forward_is_the_exact_gumbel_max_sample(estimator):
    x, seed = tile(LOGITS, 40_000), tensor([3, 4], "int32")
    y = G.gumbel_softmax(x, 1.0, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=seed)
    y = numpy(y)
    assert set(np.unique(y)) == {0.0, 1.0} and (y.sum(-1) == 1).all()
    # Every estimator draws the same D for the same seed: only gradients differ.
    np.testing.assert_array_equal(y, numpy(G.gumbel_max(x, seed=seed)))
    assert_frequencies(y.sum(0), softmax(LOGITS))


# Gumbel-Rao -----------------------------------------------------------------


def test_gumbel_rao_with_one_sample_is_straight_through():
    logits = normal((64, 7), 1)
    w = normal((64, 7), 2)
    seed = tensor([5, 6], "int32")

    def rao(x):
        return G.gumbel_softmax(x, 0.7, estimator="gumbel_rao", samples=1, seed=seed)

    def st(x):
        return G.gumbel_softmax(x, 0.7, hard=True, seed=seed)

    np.testing.assert_array_equal(numpy(rao(logits)), numpy(st(logits)))
    rao_grad = value_and_grad(lambda x: keras.ops.sum(w * rao(x)), logits)[1][0]
    st_grad = value_and_grad(lambda x: keras.ops.sum(w * st(x)), logits)[1][0]
    np.testing.assert_array_equal(rao_grad, st_grad)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gumbel_rao_has_the_mean_of_straight_through(name):
    # Both see the same D and the same first Gumbel vector, so compare the
    # paired differences: a Rao-Blackwellisation keeps the mean exactly.
    diff = draws("gumbel_rao", name, samples=10) - draws("straight_through", name)
    mean, se = mean_and_se(diff)
    assert (np.abs(mean) <= Z * se).all(), (mean / se).round(1)
    # ...a mean that is not the exact gradient (so the test is not vacuous:
    # straight-through is biased on these problems).
    st_mean, st_se = mean_and_se(draws("straight_through", name))
    assert (np.abs(st_mean - exact_gradient(name)) > Z * st_se).any()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gumbel_rao_variance_decreases_with_samples(name):
    var_1, se_1 = total_variance(draws("straight_through", name))
    var_10, se_10 = total_variance(draws("gumbel_rao", name, samples=10))
    assert var_10 + Z * se_10 < var_1 - Z * se_1, (var_10, var_1)


def test_conditional_gumbel_noise_keeps_the_argmax_and_is_standard_gumbel():
    n = 20_000
    x = tile(LOGITS, n)
    d = G.gumbel_max(x, seed=7)
    noise = numpy(G._conditional_gumbel(x, d, 1, tensor([8, 9], "int32"), 2))
    assert noise.shape == (2, n, 4) and np.isfinite(noise).all()
    for k in range(2):
        np.testing.assert_array_equal((numpy(x) + noise[k]).argmax(-1), numpy(d).argmax(-1))
    # D ~ Categorical and G | D drawn conditionally: G is unconditionally
    # iid standard Gumbel, whatever D was.
    reference = np.random.default_rng(1).gumbel(size=n)
    for j in range(4):
        assert ks_statistic(noise[0][:, j], reference) < ks_two_sample_bound(n, n)
    assert not np.array_equal(noise[0], noise[1])


# ReinMax --------------------------------------------------------------------


def test_reinmax_is_unbiased_for_a_quadratic_at_temperature_one():
    # Heun's method is exact for a quadratic f (Liu et al. 2023, τ = 1).
    mean, se = mean_and_se(draws("reinmax", "quadratic"))
    assert (np.abs(mean - exact_gradient("quadratic")) <= Z * se).all()


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_reinmax_is_less_biased_than_straight_through_on_a_quadratic(temperature):
    exact = exact_gradient("quadratic")
    reinmax, reinmax_se = bias_norm(draws("reinmax", "quadratic", temperature), exact)
    st, st_se = bias_norm(draws("straight_through", "quadratic", temperature), exact)
    assert reinmax + Z * reinmax_se < st - Z * st_se, (reinmax, st)


# ReinMax and gapped straight-through: hand-computed references ------------


def softmax_jacobian_times(p, w):
    """J(p)ᵀw with J(p) = diag(p) - p pᵀ, along the last axis."""
    return p * (w - (p * w).sum(-1, keepdims=True))


def gapped_logits(theta, d):
    top = theta.max(-1, keepdims=True)
    shifted = np.where(d > 0, top, np.minimum(theta, top - 1.0))
    # D is the argmax of the shifted logits, by a gap of at least 1.
    np.testing.assert_array_equal(shifted.argmax(-1), d.argmax(-1))
    others = np.where(d > 0, -np.inf, shifted).max(-1)
    assert (shifted.max(-1) - others >= 1.0 - 1e-6).all()
    return shifted


def reference_gradient(estimator, theta, d, w, tau):
    """The gradient of sum(w * output) given the sampled one-hots d, which
    fix the ReinMax and gapped straight-through gradients completely."""
    if estimator == "reinmax":
        pi1 = (d + softmax(theta / tau)) / 2
        return 2 * softmax_jacobian_times(pi1, w) - 0.5 * softmax_jacobian_times(softmax(theta), w)
    return softmax_jacobian_times(softmax(gapped_logits(theta, d) / tau), w) / tau


@pytest.mark.parametrize("estimator, tau", [("reinmax", 1.5), ("gapped_straight_through", 0.7)])
def test_gradient_matches_hand_computed_reference(estimator, tau):
    logits = normal((256, 7), 3) * 2
    w = normal((256, 7), 4)
    seed = tensor([1, 9], "int32")
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(w * G.gumbel_softmax(x, tau, estimator=estimator, seed=seed)), logits
    )
    d = numpy(G.gumbel_max(logits, seed=seed))
    expected = reference_gradient(estimator, numpy(logits), d, numpy(w), tau)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


# All estimators: XLA, precision, impossible categories, seeds -------------


@pytest.mark.tensorflow_only
def test_compiled_with_xla_same_formulas():
    import tensorflow as tf

    # Under XLA the noise differs (Threefry), but given the sampled D the
    # ReinMax and gapped gradients are deterministic: check them against the
    # references, and Gumbel-Rao with one sample against straight-through.
    logits = tf.constant(np.tile(LOGITS, (5_000, 1)))
    w = tf.random.stateless_normal(logits.shape, [7, 7])

    @tf.function(jit_compile=True)
    def forward_backward(x, seed, estimator, samples, tau):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = G.gumbel_softmax(x, tau, estimator=estimator, samples=samples, seed=seed)
            loss = tf.reduce_sum(w * y)
        return y, tape.gradient(loss, x)

    seed, theta = tf.constant([1, 2]), logits.numpy().astype(np.float64)
    grads = {}
    for estimator in HARD_ESTIMATORS:
        y, grad = forward_backward(logits, seed, estimator, SAMPLES.get(estimator, 1), 1.5)
        y, grad = y.numpy(), grads.setdefault(estimator, grad.numpy())
        assert set(np.unique(y)) == {0.0, 1.0} and np.isfinite(grad).all()
        assert_frequencies(y.sum(0), softmax(LOGITS))
        if estimator in ("reinmax", "gapped_straight_through"):
            expected = reference_gradient(estimator, theta, y, w.numpy(), 1.5)
            np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)
    rao = forward_backward(logits, seed, "gumbel_rao", 1, 1.5)[1]
    np.testing.assert_array_equal(rao, grads["straight_through"])


@pytest.mark.parametrize("estimator", HARD_ESTIMATORS)
def test_neg_inf_logits_and_trainable_temperature_stay_finite(estimator):
    logits = np.array([0.0, -np.inf, 1.0, -np.inf, 0.5], dtype=np.float32)
    x = tile(logits, 10_000)
    w = normal(x.shape, 1)
    tau = keras.Variable(1.5, trainable=True)

    def sample(x, t):
        return G.gumbel_softmax(x, t, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=11)

    _, (grad_x, grad_tau) = value_and_grad(lambda x, t: keras.ops.sum(w * sample(x, t)), x, tau)
    y = numpy(sample(x, tau))
    assert (y[:, [1, 3]] == 0).all() and np.isfinite(grad_x).all()
    # ReinMax's (and its variants') gradient does not reach the temperature.
    if estimator in G.NO_TEMPERATURE_GRADIENT:
        assert grad_tau == 0
    else:
        assert np.isfinite(grad_tau) and grad_tau != 0
    assert_frequencies(y.sum(0), softmax(logits))


@pytest.mark.parametrize("estimator", HARD_ESTIMATORS)
def test_huge_logits_stay_finite(estimator):
    x = tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    weights = tensor([[1.0, 2.0, 3.0]])

    def sample(x):
        return G.gumbel_softmax(x, 1.0, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=1)

    _, (grad,) = value_and_grad(lambda x: keras.ops.sum(sample(x) * weights), x)
    assert np.isfinite(grad).all()
    np.testing.assert_array_equal(numpy(sample(x)), [[1, 0, 0], [0, 0, 1]])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("estimator", HARD_ESTIMATORS)
def test_low_precision_inputs(estimator, dtype):
    x = keras.ops.cast(tile(LOGITS * 50, 2000), dtype)
    weights = tensor(np.arange(4), "float32")

    def sample(x):
        return G.gumbel_softmax(x, 1.0, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=3)

    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(keras.ops.cast(sample(x), "float32") * weights), x
    )
    y = sample(x)
    assert dtype_of(y) == dtype and grad.dtype == dtype
    y32 = numpy(keras.ops.cast(y, "float32"))
    assert set(np.unique(y32)) <= {0.0, 1.0} and (y32.sum(-1) == 1).all()
    assert np.isfinite(grad.astype(np.float32)).all()


def test_gumbel_rao_extra_draws_come_from_the_seed():
    x = tile(LOGITS, 100)

    weights = tensor(np.arange(4), "float32")

    def sample(x, seed):
        return G.gumbel_softmax(x, 0.5, estimator="gumbel_rao", samples=4, seed=seed)

    def gradient(seed):
        generators = [seed] if isinstance(seed, keras.random.SeedGenerator) else []
        loss = lambda x: keras.ops.sum(sample(x, seed) * weights)  # noqa: E731
        return value_and_grad(loss, x, seed_generators=generators)[1][0]

    seed = tensor([1, 2], "int32")
    np.testing.assert_array_equal(numpy(sample(x, seed)), numpy(sample(x, seed)))
    np.testing.assert_array_equal(gradient(seed), gradient(seed))
    assert not np.array_equal(gradient(seed), gradient(tensor([1, 3], "int32")))
    gen_a, gen_b = keras.random.SeedGenerator(4), keras.random.SeedGenerator(4)
    np.testing.assert_array_equal(gradient(gen_a), gradient(gen_b))
    assert not np.array_equal(gradient(gen_a), gradient(gen_a))


# Arguments ------------------------------------------------------------------


@pytest.mark.parametrize("samples", [0, -1, 1.5, True, "2", None])
def test_bad_samples_are_refused(samples):
    with pytest.raises(ValueError, match=rf"samples must be an integer >= 1, received samples={samples!r}"):
        G.gumbel_softmax(tile(LOGITS, 2), 1.0, estimator="gumbel_rao", samples=samples)
    with pytest.raises(ValueError, match="samples must be an integer >= 1"):
        GumbelSoftmax(estimator="gumbel_rao", samples=samples)


def test_samples_only_for_gumbel_rao():
    with pytest.raises(ValueError, match="'reinmax_cv' takes; received samples=3, estimator='straight_through'"):
        G.gumbel_softmax(tile(LOGITS, 2), 1.0, hard=True, samples=3)
    with pytest.raises(ValueError, match="received samples=2, estimator='relaxed'"):
        GumbelSoftmax(samples=2)


def test_reinmax_refuses_temperature_below_one():
    x = tile(LOGITS, 2)
    match = r"estimator='reinmax' needs temperature >= 1 \(Liu et al. 2023\), received temperature=0.5"
    with pytest.raises(ValueError, match=match):
        G.gumbel_softmax(x, 0.5, estimator="reinmax")
    with pytest.raises(ValueError, match=match):
        G.gumbel_softmax(x, keras.Variable(0.5), estimator="reinmax")
    with pytest.raises(ValueError, match=match):
        GumbelSoftmax(temperature=0.5, estimator="reinmax")
    with pytest.raises(ValueError, match="sends no gradient to the temperature.*trainable_temperature=True"):
        GumbelSoftmax(temperature=1.0, estimator="reinmax", trainable_temperature=True)


@pytest.mark.tensorflow_only
def test_reinmax_refuses_temperature_below_one_at_run_time_in_a_traced_function():
    import tensorflow as tf

    x = tile(LOGITS, 2)
    # In a traced function the value is known only at run time.
    traced = tf.function(lambda t: G.gumbel_softmax(x, t, estimator="reinmax", seed=1))
    assert traced(tf.constant(1.0)).shape == x.shape
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs temperature >= 1"):
        traced(tf.constant(0.5))


def test_relaxed_cannot_be_hard():
    with pytest.raises(ValueError, match="received hard=True, estimator='relaxed'"):
        GumbelSoftmax(hard=True, estimator="relaxed")


# Layer: serialization and compiled training ----------------------------------


@pytest.mark.parametrize("estimator", HARD_ESTIMATORS)
def test_layer_serialization_keeps_the_estimator(estimator):
    layer = GumbelSoftmax(temperature=1.5, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=4)
    config = layer.get_config()
    assert config["estimator"] == estimator and config["samples"] == SAMPLES.get(estimator, 1)
    clone = GumbelSoftmax.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert revived.get_config() == config


def small_model(layer):
    inputs = keras.Input((8,))
    logits = keras.layers.Reshape((3, 4))(keras.layers.Dense(12, name="encoder")(inputs))
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(layer(logits)))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "estimator, jit_compile",
    [(e, False) for e in HARD_ESTIMATORS] + [("gumbel_rao", True), ("reinmax", True)],
)
def test_compiled_fit_trains_through_each_estimator(estimator, jit_compile, tmp_path):
    layer = GumbelSoftmax(temperature=1.5, estimator=estimator, samples=SAMPLES.get(estimator, 1), seed=1)
    model = small_model(layer)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")
    before = model.get_layer("encoder").kernel.numpy()
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # The encoder sits before the sampler: only the estimator's gradient moves it.
    assert not np.allclose(model.get_layer("encoder").kernel.numpy(), before)
    path = tmp_path / "m.keras"
    model.save(path)
    (revived,) = [lay for lay in keras.models.load_model(path).layers if isinstance(lay, GumbelSoftmax)]
    assert (revived.estimator, revived.samples) == (estimator, SAMPLES.get(estimator, 1))


@pytest.mark.tensorflow_only
def test_compiled_fit_refuses_a_reinmax_temperature_annealed_below_one():
    import tensorflow as tf

    layer = GumbelSoftmax(temperature=1.0, estimator="reinmax", seed=1)
    model = small_model(layer)
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    x, y = np.zeros((8, 8), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    layer.temperature.assign(0.5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs temperature >= 1"):
        model.fit(x, y, epochs=1, verbose=0)


# ReinMax-Rao, ReinMax-CV (Wang & Bui 2026) and decoupled straight-through ---


def conditional_gumbel(theta, i, n, rng):
    """n Gumbel vectors G drawn given argmax(θ + G) = i (the top-down
    construction of Maddison et al. 2014), in NumPy: θ_i + G_i = log Z -
    log E_i, θ_j + G_j = -log(E_j e^{-θ_j} + E_i / Z)."""
    e = rng.exponential(size=(n, len(theta)))
    z = np.exp(theta).sum()
    perturbed = -np.log(e * np.exp(-theta) + e[:, i : i + 1] / z)
    perturbed[:, i] = np.log(z) - np.log(e[:, i])
    return perturbed - theta


def shifted_logits(theta, d):
    """θ' = log((π0 + D)/2)."""
    return np.log((softmax(theta) + d) / 2)


def jacobian(p):
    return np.einsum("...i,ij->...ij", p, np.eye(p.shape[-1])) - p[..., :, None] * p[..., None, :]


@functools.lru_cache(maxsize=None)
def expected_jacobians(temperature, m=400_000):
    """E[J(softmax((θ' + G)/τ))/τ | D = i] for every variable and class i,
    with G drawn given argmax(θ' + G) = i (ReinMax-Rao's J̄ in expectation),
    and E[J(softmax((θ' + g)/τ))/τ | D = i] with g the forward noise, drawn
    given argmax(θ + g) = i (ReinMax-CV's single Jacobian in expectation);
    m draws each, to an accuracy far below the tests' standard errors."""
    rng = np.random.default_rng(12)
    rao, single = np.zeros((V, C, C, C)), np.zeros((V, C, C, C))
    for v, i in itertools.product(range(V), range(C)):
        shifted = shifted_logits(THETA[v], np.eye(C)[i])
        g = conditional_gumbel(shifted, i, m, rng)
        rao[v, i] = jacobian(softmax((shifted + g) / temperature)).mean(0) / temperature
        g = conditional_gumbel(THETA[v], i, m, rng)
        single[v, i] = jacobian(softmax((shifted + g) / temperature)).mean(0) / temperature
    return rao, single


def expected_reinmax_variant(estimator, temperature, eta=G.REINMAX_CV_ETA):
    """The exact mean of the ReinMax-Rao or ReinMax-CV gradient of the
    quadratic: Σ_s p(s) of its formula at state s, the Jacobians replaced by
    their expectations given s (`expected_jacobians`)."""
    states = np.eye(C)[list(itertools.product(range(C), repeat=V))]
    pi = softmax(THETA)
    p = np.prod((states * pi).sum(-1), axis=-1)
    upstream = (states.reshape(-1, V * C) @ QUAD_A + QUAD_B).reshape(-1, V, C)
    index = states.argmax(-1)
    rao, single = expected_jacobians(temperature)
    j_rao = rao[np.arange(V), index]          # (S, V, C, C)
    first = -0.5 * np.einsum("vij,svj->svi", jacobian(pi), upstream)
    if estimator == "reinmax_rao":
        g = 2 * np.einsum("svij,svj->svi", j_rao, upstream) + first
    else:
        pi1 = (states + pi) / 2
        reinmax = 2 * np.einsum("svij,svj->svi", jacobian(pi1), upstream) + first
        control = np.einsum("svij,svj->svi", single[np.arange(V), index] - j_rao, upstream)
        g = reinmax - eta * control
    return np.einsum("s,svc->vc", p, g)


@pytest.mark.parametrize("estimator, temperature", [("reinmax_rao", 1.0), ("reinmax_rao", 0.5), ("reinmax_cv", 1.0)])
def test_reinmax_variants_have_their_expected_mean(estimator, temperature):
    # Both are biased by design (second-order, as ReinMax): their mean is the
    # expectation of their formula, computed here independently in NumPy.
    mean, se = mean_and_se(draws(estimator, "quadratic", temperature, samples=4))
    expected = expected_reinmax_variant(estimator, temperature)
    assert (np.abs(mean - expected) <= Z * se).all(), ((mean - expected) / se).round(1)
    # ...a mean the test can tell from the exact gradient and from ReinMax's.
    assert (np.abs(mean - exact_gradient("quadratic")) > Z * se).any()


def test_reinmax_cv_without_its_control_variate_is_reinmax_at_temperature_one():
    # eta = 0: exactly ReinMax at τ = 1 (whatever the CV temperature),
    # draw by draw, and so unbiased for a quadratic.
    without = draws("reinmax_cv", "quadratic", 2.0, samples=4, eta=0.0)
    np.testing.assert_allclose(without, draws("reinmax", "quadratic"), rtol=1e-5, atol=1e-6)
    # The control variate enters linearly: g(η) = g(0) - η c.
    c = without - draws("reinmax_cv", "quadratic", 2.0, samples=4, eta=1.0)
    np.testing.assert_allclose(
        draws("reinmax_cv", "quadratic", 2.0, samples=4, eta=0.3), without - 0.3 * c, rtol=1e-4, atol=1e-5
    )


def test_reinmax_rao_averages_away_variance():
    # The Rao-Blackwellisation (Wang & Bui 2026): more conditional draws,
    # less variance.
    var_1, se_1 = total_variance(draws("reinmax_rao", "quadratic", samples=1))
    var_10, se_10 = total_variance(draws("reinmax_rao", "quadratic", samples=10))
    assert var_10 + Z * se_10 < var_1 - Z * se_1, (var_10, var_1)


def test_decoupled_straight_through_is_straight_through_at_the_backward_temperature():
    logits = normal((256, 7), 3) * 2
    w = normal((256, 7), 4)
    seed = tensor([1, 9], "int32")

    def decoupled(x, forward):
        return G.gumbel_softmax(
            x, forward, estimator="decoupled_straight_through", backward_temperature=0.3, seed=seed
        )

    st = lambda x: G.gumbel_softmax(x, 0.3, hard=True, seed=seed)  # noqa: E731
    expected = value_and_grad(lambda x: keras.ops.sum(w * st(x)), logits)[1][0]
    for forward in (0.3, 2.0, 5.0):  # the forward temperature changes nothing
        np.testing.assert_array_equal(numpy(decoupled(logits, forward)), numpy(G.gumbel_max(logits, seed=seed)))
        _, (grad,) = value_and_grad(lambda x, f=forward: keras.ops.sum(w * decoupled(x, f)), logits)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)
    # By hand: J(y_b)ᵀw / τ_b, y_b = softmax((θ + g)/τ_b), g the forward noise.
    g = numpy(G.sample_gumbel(logits.shape, seed=seed))
    y_b = softmax((numpy(logits) + g) / 0.3)
    np.testing.assert_allclose(expected, softmax_jacobian_times(y_b, numpy(w)) / 0.3, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("estimator, tau", [("reinmax_rao", 0.7), ("reinmax_cv", 1.5)])
def test_reinmax_variants_match_hand_computed_references(estimator, tau):
    from keras_gumbel._random import split, stateless_seed

    logits = normal((256, 7), 3) * 2
    w = normal((256, 7), 4)
    seed, k, eta = tensor([1, 9], "int32"), 3, 0.4
    options = {"eta": eta} if estimator == "reinmax_cv" else {}

    def sample(x):
        return G.gumbel_softmax(x, tau, estimator=estimator, samples=k, seed=seed, **options)

    _, (grad,) = value_and_grad(lambda x: keras.ops.sum(w * sample(x)), logits)
    theta, w = numpy(logits).astype(np.float64), numpy(w).astype(np.float64)
    d = numpy(G.gumbel_max(logits, seed=seed))
    np.testing.assert_array_equal(numpy(sample(logits)), d)
    shifted = shifted_logits(theta, d)
    # The library's conditional draws (from the seed split off the call's),
    # the formula by hand.
    noise = numpy(G._conditional_gumbel(tensor(shifted, "float32"), tensor(d), 1, split(stateless_seed(seed)), k))
    assert (np.argmax(shifted + noise, -1) == d.argmax(-1)).all()
    j_bar = np.mean([softmax_jacobian_times(softmax((shifted + n) / tau), w) for n in noise], 0) / tau
    first = -0.5 * softmax_jacobian_times(softmax(theta), w)
    if estimator == "reinmax_rao":
        expected = 2 * j_bar + first
    else:
        g = numpy(G.sample_gumbel(logits.shape, seed=seed))
        single = softmax_jacobian_times(softmax((shifted + g) / tau), w) / tau
        expected = 2 * softmax_jacobian_times((d + softmax(theta)) / 2, w) + first - eta * (single - j_bar)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("eta", [np.nan, np.inf, "1", True, [0.5]])
def test_bad_eta_is_refused(eta):
    with pytest.raises(ValueError, match=r"eta must be a finite number, received eta="):
        G.gumbel_softmax(tile(LOGITS, 2), 1.0, estimator="reinmax_cv", eta=eta)
    with pytest.raises(ValueError, match=r"eta must be a finite number"):
        GumbelSoftmax(estimator="reinmax_cv", eta=eta)


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan, np.inf, "1", True, 1e-40])
def test_bad_backward_temperature_is_refused(value):
    with pytest.raises(ValueError, match=r"backward_temperature must be a finite number"):
        G.gumbel_softmax(tile(LOGITS, 2), 1.0, estimator="decoupled_straight_through", backward_temperature=value)
    with pytest.raises(ValueError, match=r"backward_temperature must be a finite number"):
        GumbelSoftmax(estimator="decoupled_straight_through", backward_temperature=value)


def test_options_only_for_their_estimators():
    x = tile(LOGITS, 2)
    with pytest.raises(ValueError, match="only estimator='reinmax_cv' takes; received eta=0.5, estimator='reinmax'"):
        G.gumbel_softmax(x, 1.0, estimator="reinmax", eta=0.5)
    match = "only estimator='decoupled_straight_through' takes; received backward_temperature=0.5, estimator=None"
    with pytest.raises(ValueError, match=match.replace("None", "'straight_through'")):
        GumbelSoftmax(hard=True, backward_temperature=0.5)
    with pytest.raises(ValueError, match="samples > 1"):
        GumbelSoftmax(estimator="decoupled_straight_through", samples=2)
    for estimator in ("reinmax_rao", "reinmax_cv", "decoupled_straight_through"):
        with pytest.raises(ValueError, match=f"estimator='{estimator}' sends no gradient to the temperature"):
            GumbelSoftmax(estimator=estimator, trainable_temperature=True)


@pytest.mark.parametrize(
    "estimator, options",
    [("reinmax_cv", {"eta": 0.25}), ("reinmax_cv", {}), ("decoupled_straight_through", {"backward_temperature": 0.4})],
)
def test_layer_serialization_keeps_the_options(estimator, options, tmp_path):
    layer = GumbelSoftmax(temperature=1.5, estimator=estimator, seed=4, **options)
    config = layer.get_config()
    expected = options or {"eta": G.REINMAX_CV_ETA}
    assert {key: config[key] for key in expected} == expected
    clone = GumbelSoftmax.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    model = small_model(layer)
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    revived = keras.models.load_model(path)
    (sampler,) = [lay for lay in revived.layers if isinstance(lay, GumbelSoftmax)]
    assert sampler.get_config() == config
    np.testing.assert_array_equal(numpy(revived(x)), numpy(model(x)))
