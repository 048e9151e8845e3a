"""The densities of `keras_gumbel.ops` (`keras_gumbel._densities`), on every
backend.

Each is compared with a NumPy float64 reference written from the formulas
of Maddison et al. 2017 and the rules of the module's docstring (NaN rows,
`±inf` logits, the simplex's edge, points off the support); on TensorFlow
also with TFP's `log_prob` wherever TFP's value is finite. Tolerances come
from float32 rounding: a float32 evaluation of a sum of terms of magnitudes
`s_i` is off by at most a few `eps * Σ s_i` (`eps = 2^-23`), so each value
is checked to `TOL_EPS * eps * scale` with `scale` that sum, computed by the
reference.
"""

import math

import numpy as np
import pytest
from helpers import Z, dtype_of, numpy, softmax, tensor, value_and_grad

import keras
from keras_gumbel import ops as G

EPS32 = float(np.finfo(np.float32).eps)
# Measured over these cases (3 seeds): at most 2.0 (TensorFlow), 3.1 (JAX),
# 2.2 (PyTorch) eps * scale for the Concrete, 0.7 for the binary Concrete; 8
# leaves room for other CPUs' log and exp.
TOL_EPS = 8
TEMPERATURES = [1e-2, 0.1, 0.5, 1.0, 3.0, 1e2]


# NumPy float64 references ----------------------------------------------------


def _logsumexp(v):
    top = v.max()
    return top + np.log(np.exp(v - top).sum())


def ref_relaxed_one_hot(logits, t, x):
    """The Concrete log-density of each row and its rounding scale, by the
    paper's formula and the documented rules, in float64."""
    logits, x = np.asarray(logits, np.float64), np.asarray(x, np.float64)
    t = float(t)
    values, scales = [], []
    for row, point in zip(logits.reshape(-1, logits.shape[-1]), x.reshape(-1, x.shape[-1])):
        value, scale = _ref_row(row, t, point)
        values.append(value)
        scales.append(scale)
    shape = logits.shape[:-1]
    return np.reshape(values, shape), np.reshape(scales, shape)


def _ref_row(logits, t, x):
    if np.isnan(logits).any() or np.isneginf(logits).all() or np.isnan(x).any():
        return np.nan, 0.0
    if np.isposinf(logits).any():  # only the +inf categories remain, with equal logits
        logits = np.where(np.isposinf(logits), 0.0, -np.inf)
    possible = np.isfinite(logits)
    if (x[~possible] != 0).any() or (x[possible] < 0).any() or not (x[possible] > 0).any():
        return -np.inf, 0.0
    theta, y = logits[possible], x[possible]
    k = len(theta)
    zero = y == 0
    m = int(zero.sum())
    norm = math.lgamma(k) + (k - 1) * math.log(t)
    if m == 0:
        terms = theta - (t + 1) * np.log(y)
        v = theta - t * np.log(y)
        lse = _logsumexp(v)
        value = norm + terms.sum() - k * lse
        scale = abs(norm) + np.abs(terms).sum() + k * abs(lse)
        return value, scale
    slope = k * t - (t + 1) * m
    if slope > 0:
        return -np.inf, 0.0
    if slope < 0:
        return np.inf, 0.0
    if m > 1:
        return np.nan, 0.0
    terms = (theta - (t + 1) * np.log(np.where(zero, 1.0, y)))[~zero]
    value = norm + terms.sum() - (k - 1) * theta[zero].sum()
    return value, abs(norm) + np.abs(terms).sum() + k * np.abs(theta).sum()


def ref_relaxed_bernoulli(logits, t, x):
    """The binary Concrete log-density (elementwise) and its rounding scale."""
    logits, x = np.broadcast_arrays(np.asarray(logits, np.float64), np.asarray(x, np.float64))
    value = np.full(logits.shape, np.nan)
    scale = np.zeros(logits.shape)
    with np.errstate(all="ignore"):
        inside = (x > 0) & (x < 1) & np.isfinite(logits)
        l, y = logits[inside], x[inside]
        a, b = l - t * np.log(y), -t * np.log1p(-y)
        lae = np.logaddexp(a, b)
        value[inside] = math.log(t) + l - (t + 1) * (np.log(y) + np.log1p(-y)) - 2 * lae
        scale[inside] = abs(math.log(t)) + np.abs(l) + (t + 1) * np.abs(np.log(y) + np.log1p(-y)) + 2 * np.abs(lae)
        edge = ((x == 0) | (x == 1)) & np.isfinite(logits)
        limit = np.inf if t < 1 else -np.inf if t > 1 else None
        value[edge] = np.where(x[edge] == 1, logits[edge], -logits[edge]) if limit is None else limit
        scale[edge] = np.abs(logits[edge])
        infinite = np.isinf(logits)
        atom = (logits > 0).astype(np.float64)
        value[infinite] = np.where(x[infinite] == atom[infinite], 0.0, -np.inf)
        outside = (x < 0) | (x > 1)
        value[outside] = -np.inf
        value[np.isnan(logits) | np.isnan(x)] = np.nan
    return value, scale


def assert_matches(ours, ref, scale, what=""):
    """Non-finite values exactly the reference's, finite ones within the
    float32 rounding bound."""
    ours = np.asarray(ours, np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=f"NaN {what}")
    np.testing.assert_array_equal(ours[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)], err_msg=what)
    error = np.abs(ours[finite] - ref[finite])
    bound = TOL_EPS * EPS32 * np.maximum(scale[finite], 1.0)
    assert (error <= bound).all(), (what, (error / (EPS32 * np.maximum(scale[finite], 1.0))).max())


# Test cases: random interior points and every special case -------------------


# Every case has ROWS rows: on JAX each new shape compiles every op anew.
ROWS = 400


def relaxed_cases(n, t, seed=0, rows=300):
    """Logits and points of shape (R, n): Dirichlet points, the layer's own
    samples (at low temperatures on the simplex's edge, from underflow),
    points with one or two zero entries, -inf and +inf logits, one
    category, NaN, points off the simplex."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(rows, n)) * 3
    x = rng.dirichlet(np.full(n, rng.uniform(0.3, 3.0)), size=rows)
    own = numpy(G.gumbel_softmax(tensor(logits), t, seed=seed)).astype(np.float64)
    logits = np.concatenate([logits, logits[: rows // 2]])
    x = np.concatenate([x, own[: rows // 2]])
    special_logits, special_x = [], []

    def add(lg, pt):
        special_logits.append(lg)
        special_x.append(pt)

    base, point = logits[0].copy(), x[0].copy()
    add(base, np.eye(n)[0])  # a vertex
    if n >= 2:
        edge = point.copy()
        edge[0] = 0
        add(base, edge / edge.sum())  # one zero entry
        impossible = base.copy()
        impossible[0] = -np.inf
        add(impossible, edge / edge.sum())  # a face: the zero entry is impossible
        add(impossible, point)  # positive mass on an impossible category
        certain = base.copy()
        certain[1] = np.inf
        add(certain, np.eye(n)[1])  # a +inf logit: its one-hot
        add(certain, point)
        negative = point.copy()
        negative[0] = -0.1
        add(base, negative)
    if n >= 3:
        edge2 = point.copy()
        edge2[:2] = 0
        add(base, edge2 / edge2.sum())  # two zero entries
        two = base.copy()
        two[:2] = np.inf
        mid = np.zeros(n)
        mid[:2] = [0.3, 0.7]
        add(two, mid)  # two +inf logits: the edge between them
        add(two, np.eye(n)[0])
    nan = base.copy()
    nan[0] = np.nan
    add(nan, point)
    add(np.full(n, -np.inf), point)
    add(base, np.where(np.arange(n) == 0, np.nan, point))
    add(base, np.zeros(n))
    add(np.full(n, np.inf), np.full(n, 1.0 / n))
    logits = np.concatenate([special_logits, logits])[:ROWS].astype(np.float32)
    x = np.concatenate([special_x, x])[:ROWS].astype(np.float32)
    return logits, x


@pytest.mark.parametrize("n", [1, 2, 3, 10])
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_relaxed_one_hot_log_prob_follows_the_reference(n, temperature):
    logits, x = relaxed_cases(n, temperature)
    ours = numpy(G.relaxed_one_hot_log_prob(tensor(logits), temperature, tensor(x)))
    ref, scale = ref_relaxed_one_hot(logits, np.float32(temperature), x)
    assert np.isfinite(ref).mean() > 0.4  # mostly interior points: the formula is tested
    assert_matches(ours, ref, scale, f"n={n}, temperature={temperature}")


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("n", [1, 2, 3, 10])
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_relaxed_one_hot_log_prob_is_tfp_where_tfp_is_finite(n, temperature):
    import tensorflow_probability as tfp

    logits, x = relaxed_cases(n, temperature, seed=1)
    ours = G.relaxed_one_hot_log_prob(logits, temperature, x).numpy()
    theirs = tfp.distributions.RelaxedOneHotCategorical(np.float32(temperature), logits=logits).log_prob(x).numpy()
    finite = np.isfinite(theirs)
    assert finite.mean() > 0.4
    relative = np.abs(ours[finite] - theirs[finite]) / np.maximum(np.abs(theirs[finite]), np.finfo(np.float32).tiny)
    assert relative.max() <= 1e-5, relative.max()
    # Where TFP is not finite (NaN at the edge and at +-inf logits), ours
    # is the reference's: a documented value.
    ref, scale = ref_relaxed_one_hot(logits, np.float32(temperature), x)
    assert_matches(ours[~finite], ref[~finite], scale[~finite])


# The simplex's edge, one category, infinite logits, NaN --------------------------


def relaxed(logits, t, x, axis=-1):
    return numpy(G.relaxed_one_hot_log_prob(tensor(logits), t, tensor(x), axis=axis))


def test_one_category_is_a_point_mass_at_one():
    for t in (0.1, 1.0, 10.0):
        np.testing.assert_array_equal(relaxed([[0.3], [-5.0], [np.inf]], t, [[1.0]] * 3), [0.0, 0.0, 0.0])
    # As TFP: the formula off the simplex (the sum is not checked), -inf at 0.
    np.testing.assert_allclose(relaxed([[0.3]], 1.0, [[0.5]]), [np.log(2)], rtol=1e-6)
    assert relaxed([[0.3]], 1.0, [[0.0]])[0] == -np.inf
    assert np.isnan(relaxed([[-np.inf]], 1.0, [[1.0]])[0]) and np.isnan(relaxed([[np.nan]], 1.0, [[1.0]])[0])


def test_edge_values_are_the_density_limits():
    logits = np.array([[0.4, -1.0, 2.0]], np.float32)
    # One zero entry of three: (k tau - (tau + 1) m) = 3 tau - tau - 1.
    assert relaxed(logits, 2.0, [[0.0, 0.3, 0.7]])[0] == -np.inf  # 3 > 0
    assert relaxed(logits, 0.2, [[0.0, 0.3, 0.7]])[0] == np.inf  # -0.6 < 0
    # Balanced (tau = 1/2): the finite limit, the reference's value at a
    # point just off the edge (its error there is of order delta^tau).
    delta = 1e-30
    near = np.array([[delta, 0.3 * (1 - delta), 0.7 * (1 - delta)]])
    limit, _ = ref_relaxed_one_hot(logits, 0.5, near)
    np.testing.assert_allclose(relaxed(logits, 0.5, [[0.0, 0.3, 0.7]]), limit, rtol=1e-6)
    # Two zero entries of four, balanced (4 tau = 2 (tau + 1) at tau = 1):
    # the limit depends on the direction: NaN.
    assert np.isnan(relaxed([[0.1, 0.2, 0.3, 0.4]], 1.0, [[0.0, 0.0, 0.5, 0.5]])[0])
    assert relaxed([[0.1, 0.2, 0.3, 0.4]], 2.0, [[0.0, 0.0, 0.5, 0.5]])[0] == -np.inf  # 8 > 6


def test_infinite_logits_leave_the_density_of_the_other_categories():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(50, 4)).astype(np.float32)
    x = rng.dirichlet(np.ones(3), size=50).astype(np.float32)
    # -inf on category 1: the three-category Concrete of the others.
    minus = logits.copy()
    minus[:, 1] = -np.inf
    face = np.insert(x, 1, 0.0, axis=1)
    for t in (0.3, 1.0, 4.0):
        np.testing.assert_allclose(relaxed(minus, t, face), relaxed(np.delete(logits, 1, axis=1), t, x), rtol=1e-5, atol=1e-5)
        assert (relaxed(minus, t, np.full((50, 4), 0.25)) == -np.inf).all()
    # +inf on categories 0 and 2: the two-category Concrete with equal logits.
    plus = logits.copy()
    plus[:, [0, 2]] = np.inf
    pair = rng.dirichlet(np.ones(2), size=50).astype(np.float32)
    point = np.zeros((50, 4), np.float32)
    point[:, [0, 2]] = pair
    np.testing.assert_allclose(relaxed(plus, 0.7, point), relaxed(np.zeros((50, 2)), 0.7, pair), rtol=1e-5, atol=1e-5)
    # One +inf: the point mass at its one-hot.
    one = logits.copy()
    one[:, 3] = np.inf
    np.testing.assert_array_equal(relaxed(one, 0.7, np.tile(np.eye(4)[3], (50, 1))), 0.0)
    assert (relaxed(one, 0.7, np.full((50, 4), 0.25)) == -np.inf).all()


def test_undefined_rows_and_points_give_nan_and_off_simplex_points_minus_inf():
    logits = [[0.0, 1.0, 2.0]] * 5
    logits[0] = [0.0, np.nan, 2.0]
    logits[1] = [-np.inf] * 3
    logits[2] = [np.inf, np.nan, 0.0]  # a NaN with a +inf: still no distribution
    x = [[0.2, 0.3, 0.5]] * 5
    x[3] = [0.2, np.nan, 0.5]
    x[4] = [-0.2, 0.7, 0.5]
    out = relaxed(logits, 0.5, x)
    assert np.isnan(out[:4]).all() and out[4] == -np.inf


def test_two_categories_are_the_binary_concrete_edges_included():
    rng = np.random.default_rng(4)
    theta = (rng.normal(size=200) * 3).astype(np.float32)
    y = rng.uniform(size=200).astype(np.float32)
    y[:20] = 0.0
    y[20:40] = 1.0
    theta[40:45] = [np.inf, -np.inf, np.inf, -np.inf, np.nan]
    y[40:45] = [1.0, 0.0, 0.5, 0.5, 0.5]
    pair_logits = np.stack([theta, np.where(np.isnan(theta), 0.0, 0.0)], -1).astype(np.float32)
    pair = np.stack([y, 1 - y], -1)
    for t in (0.3, 1.0, 2.5):
        binary = numpy(G.relaxed_bernoulli_log_prob(tensor(theta), t, tensor(y)))
        np.testing.assert_allclose(relaxed(pair_logits, t, pair), binary, rtol=2e-5, atol=2e-5)


# The relaxed Bernoulli --------------------------------------------------------


def bernoulli_cases(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=n) * 3
    x = rng.uniform(size=n)
    x[:10], x[10:20] = 0.0, 1.0
    x[20:30] = rng.uniform(1e-7, 1e-3, size=10)
    logits[30:36] = [np.inf, np.inf, -np.inf, -np.inf, np.nan, 0.5]
    x[30:36] = [1.0, 0.5, 0.0, 1.0, 0.5, np.nan]
    x[36:40] = [-0.5, 1.5, -1e-9, 1 + 1e-6]
    return logits.astype(np.float32), x.astype(np.float32)


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_relaxed_bernoulli_log_prob_follows_the_reference(temperature):
    logits, x = bernoulli_cases()
    own = numpy(G.relaxed_bernoulli(tensor(logits[100:]), temperature, seed=2))
    x[100:1100] = own[:1000]  # the sampler's own points
    ours = numpy(G.relaxed_bernoulli_log_prob(tensor(logits), temperature, tensor(x)))
    ref, scale = ref_relaxed_bernoulli(logits, float(np.float32(temperature)), x)
    assert_matches(ours, ref, scale, f"temperature={temperature}")


def test_relaxed_bernoulli_edges_at_temperature_one_are_finite():
    theta = np.array([-2.0, 0.0, 3.0], np.float32)
    np.testing.assert_allclose(numpy(G.relaxed_bernoulli_log_prob(tensor(theta), 1.0, tensor([1.0] * 3))), theta)
    np.testing.assert_allclose(numpy(G.relaxed_bernoulli_log_prob(tensor(theta), 1.0, tensor([0.0] * 3))), -theta)


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_relaxed_bernoulli_log_prob_is_tfp_where_tfp_is_finite(temperature):
    import tensorflow_probability as tfp

    logits, x = bernoulli_cases(seed=1)
    ours = G.relaxed_bernoulli_log_prob(logits, temperature, x).numpy()
    theirs = tfp.distributions.RelaxedBernoulli(np.float32(temperature), logits=logits).log_prob(x).numpy()
    finite = np.isfinite(theirs)
    assert finite.mean() > 0.9
    relative = np.abs(ours[finite] - theirs[finite]) / np.maximum(np.abs(theirs[finite]), np.finfo(np.float32).tiny)
    assert relative.max() <= 1e-5, relative.max()
    # TFP's limits at 0 and 1 are ours; at infinite logits it says +inf
    # (an infinite density) where ours is the point mass's 0.
    same = ~finite & np.isfinite(logits)
    np.testing.assert_array_equal(ours[same & ~np.isnan(theirs)], theirs[same & ~np.isnan(theirs)])


# A density integrates to 1 -----------------------------------------------------


@pytest.mark.parametrize("theta, temperature", [(0.5, 1.0), (-1.0, 2.0), (2.0, 5.0)])
def test_relaxed_bernoulli_density_integrates_to_one(theta, temperature):
    # Over u = logit(x), the density p(sigmoid(u)) sigmoid'(u) is logistic
    # with scale 1/tau: [-16, 16] holds all but < 1e-6 of it here.
    u = np.linspace(-16, 16, 64_001)
    x = 1 / (1 + np.exp(-u))
    log_p = numpy(G.relaxed_bernoulli_log_prob(tensor(np.full_like(u, theta)), temperature, tensor(x)))
    integrand = np.exp(log_p.astype(np.float64) + np.log(x) + np.log1p(-x))
    mass = np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(u))
    assert abs(mass - 1) < 1e-4, mass


@pytest.mark.parametrize("temperature", [1.5, 3.0])
def test_relaxed_one_hot_density_integrates_to_one(temperature):
    # E_q[p / q] = 1 with q the uniform Dirichlet density (2 on the
    # 2-simplex); at these temperatures p / q has a finite variance.
    n = 100_000
    rng = np.random.default_rng(5)
    x = rng.dirichlet(np.ones(3), size=n).astype(np.float32)
    logits = np.tile(np.array([0.5, -1.0, 1.5], np.float32), (n, 1))
    ratio = np.exp(numpy(G.relaxed_one_hot_log_prob(tensor(logits), temperature, tensor(x))).astype(np.float64)) / 2
    assert abs(ratio.mean() - 1) < Z * ratio.std() / np.sqrt(n)


# Gradients ---------------------------------------------------------------------


def test_relaxed_one_hot_gradients_match_hand_computed_references():
    rng = np.random.default_rng(6)
    theta = rng.normal(size=(64, 5)).astype(np.float32)
    theta[:8, 2] = -np.inf  # impossible categories, their entries 0
    x = rng.dirichlet(np.ones(5), size=64)
    x[:8, 2] = 0
    x = (x / x.sum(-1, keepdims=True)).astype(np.float32)
    tau = keras.Variable(0.7, trainable=True)
    _, (grad_theta, grad_tau) = value_and_grad(
        lambda th, t: keras.ops.sum(G.relaxed_one_hot_log_prob(th, t, tensor(x))), tensor(theta), tau
    )
    # d/dtheta_j = 1 - k softmax(v)_j and d/dtau = (k-1)/tau - sum log x +
    # k sum softmax(v) log x, with v = theta - tau log x over the k possible
    # categories.
    possible = np.isfinite(theta)
    log_x = np.log(np.where(possible, x, 1.0))
    v = np.where(possible, theta - 0.7 * log_x, -np.inf)
    s = softmax(v)
    k = possible.sum(-1, keepdims=True)
    np.testing.assert_allclose(grad_theta, np.where(possible, 1 - k * s, 0.0), rtol=1e-4, atol=1e-5)
    expected_tau = ((k[:, 0] - 1) / 0.7 - log_x.sum(-1) + k[:, 0] * (s * log_x).sum(-1)).sum()
    np.testing.assert_allclose(grad_tau, expected_tau, rtol=1e-4)


def test_relaxed_bernoulli_and_categorical_gradients_match_hand_computed_references():
    rng = np.random.default_rng(7)
    theta = rng.normal(size=(200,)).astype(np.float32)
    y = rng.uniform(0.01, 0.99, size=200).astype(np.float32)
    _, (grad,) = value_and_grad(lambda th: keras.ops.sum(G.relaxed_bernoulli_log_prob(th, 0.6, tensor(y))), tensor(theta))
    z = theta - 0.6 * (np.log(y) - np.log1p(-y))
    np.testing.assert_allclose(grad, 1 - 2 / (1 + np.exp(-z)), rtol=1e-4, atol=1e-6)
    logits = rng.normal(size=(100, 4)).astype(np.float32)
    index = rng.integers(0, 4, size=100)
    _, (grad,) = value_and_grad(
        lambda th: keras.ops.sum(G.categorical_log_prob(th, tensor(np.eye(4)[index], "float32"))), tensor(logits)
    )
    np.testing.assert_allclose(grad, np.eye(4)[index] - softmax(logits), rtol=1e-5, atol=1e-6)


# The exact distributions ----------------------------------------------------------


def test_categorical_log_prob_of_one_hots_and_indices():
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(40, 5)).astype(np.float32)
    index = rng.integers(0, 5, size=40)
    expected = np.log(softmax(logits))[np.arange(40), index]
    one_hot = np.eye(5, dtype=np.float32)[index]
    np.testing.assert_allclose(numpy(G.categorical_log_prob(tensor(logits), tensor(one_hot))), expected, rtol=1e-5)
    np.testing.assert_allclose(numpy(G.categorical_log_prob(tensor(logits), tensor(index, "int32"))), expected, rtol=1e-5)
    # Categories on axis 0, and leading sample dimensions.
    np.testing.assert_allclose(
        numpy(G.categorical_log_prob(tensor(logits.T), tensor(one_hot.T), axis=0)), expected, rtol=1e-5
    )
    stacked = np.stack([one_hot, np.roll(one_hot, 1, axis=-1)])
    out = numpy(G.categorical_log_prob(tensor(logits), tensor(stacked)))
    assert out.shape == (2, 40)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5)
    # gumbel_max's own samples.
    d = G.gumbel_max(tensor(logits), seed=1)
    np.testing.assert_allclose(
        numpy(G.categorical_log_prob(tensor(logits), d)), np.log(softmax(logits))[np.arange(40), numpy(d).argmax(-1)], rtol=1e-5
    )


def test_categorical_log_prob_special_values():
    logits = np.array([[0.0, -np.inf, 1.0]] * 4 + [[np.inf, 0.0, np.inf], [np.nan, 0.0, 0.0], [-np.inf] * 3], np.float32)
    x = np.array(
        [[0, 1, 0], [0.5, 0, 0.5], [1, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0], [1, 0, 0]], np.float32
    )
    out = numpy(G.categorical_log_prob(tensor(logits), tensor(x)))
    assert out[0] == -np.inf  # an impossible category
    assert out[1] == -np.inf and out[2] == -np.inf  # not one-hots
    np.testing.assert_allclose(out[3], np.log(softmax([0.0, 1.0]))[1], rtol=1e-6)
    np.testing.assert_allclose(out[4], np.log(0.5), rtol=1e-6)  # two +inf share the mass
    assert np.isnan(out[5:]).all()
    index = numpy(G.categorical_log_prob(tensor(logits[:2]), tensor([3, -1], "int32")))
    np.testing.assert_array_equal(index, [-np.inf, -np.inf])  # outside [0, n)
    assert np.isnan(numpy(G.categorical_log_prob(tensor(logits[:1]), tensor([[0.0, np.nan, 1.0]])))).all()


def test_bernoulli_log_prob():
    theta = np.array([-2.0, 0.5, np.inf, np.inf, -np.inf, np.nan, 1.0, 1.0], np.float32)
    x = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.5, np.nan], np.float32)
    out = numpy(G.bernoulli_log_prob(tensor(theta), tensor(x)))
    np.testing.assert_allclose(out[:2], [-np.log1p(np.exp(2.0)), -np.log1p(np.exp(0.5))], rtol=1e-6)
    np.testing.assert_array_equal(out[2:5], [0.0, -np.inf, 0.0])
    assert np.isnan(out[5]) and out[6] == -np.inf and np.isnan(out[7])


# Arguments and dtypes --------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_densities_return_the_logits_dtype(dtype):
    logits = keras.ops.cast(tensor([[0.1, 0.5, -0.3]]), dtype)
    x = tensor([[0.2, 0.5, 0.3]])
    ref, _ = ref_relaxed_one_hot(numpy(keras.ops.cast(logits, "float32")), 0.5, numpy(x))
    for out in (
        G.relaxed_one_hot_log_prob(logits, 0.5, x),
        G.categorical_log_prob(logits, tensor([[0.0, 1.0, 0.0]])),
        G.relaxed_bernoulli_log_prob(logits, 0.5, x),
        G.bernoulli_log_prob(logits, tensor([[0.0, 1.0, 1.0]])),
    ):
        assert dtype_of(out) == dtype
    # Computed in float32: only the result is rounded to the dtype.
    value = numpy(keras.ops.cast(G.relaxed_one_hot_log_prob(logits, 0.5, x), "float32"))
    np.testing.assert_allclose(value, ref, rtol=1e-2 if dtype != "float32" else 1e-6)


def test_bad_arguments_are_refused():
    logits, x = tensor([[0.1, 0.2, 0.3]]), tensor([[0.2, 0.3, 0.5]])
    with pytest.raises(TypeError, match="logits must be a floating-point tensor.*int32"):
        G.relaxed_one_hot_log_prob(tensor([[1, 2, 3]], "int32"), 1.0, x)
    with pytest.raises(ValueError, match=r"x must hold the 3 categories of logits on its axis -1.*\(1, 2\)"):
        G.relaxed_one_hot_log_prob(logits, 1.0, tensor([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"x must hold the 3 categories"):
        G.categorical_log_prob(logits, tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 2\)"):
        G.relaxed_one_hot_log_prob(logits, 1.0, x, axis=2)
    for bad, match in [
        (0.0, "must be a finite number > 0, received temperature=0.0"),
        (1e-45, "must be a finite number >= 1e-30.*received temperature=1e-45"),
        ([0.5, 1.0, 2.0], r"must be a scalar .*received temperature of shape \(3,\)"),
        (tensor([0.5, 1.0, 2.0]), r"must be a scalar .*received temperature of shape \(3,\)"),
    ]:
        with pytest.raises(ValueError, match=match):
            G.relaxed_one_hot_log_prob(logits, bad, x)
        with pytest.raises(ValueError, match=match):
            G.relaxed_bernoulli_log_prob(logits, bad, x)
