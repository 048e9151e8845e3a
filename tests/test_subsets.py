"""Subsets of k out of n: `ops.gumbel_top_k`, `ops.relaxed_top_k(_steps)` and
the layers `GumbelTopK` and `ConcreteSelect`.

The exact sampler is checked against exact enumeration under Plackett-Luce
(every ordered pair and every unordered subset of n = 4, k = 2), with the
suite's 5-sigma binomial bound per cell (`helpers.assert_frequencies`); the
relaxation against a float64 NumPy transcription of Xie & Ermon's formula
on the same noise, and its gradient against central differences of it.
"""

import itertools
import json

import numpy as np
import pytest
from helpers import assert_frequencies, dtype_of, normal, numpy, softmax, tensor, value_and_grad

import keras
from keras.src.testing import TestCase
from keras_gumbel import ConcreteSelect, GumbelTopK, TemperatureScheduler
from keras_gumbel import ops as G
from keras_gumbel.callbacks import find_temperature_layers
from keras_gumbel.schedules import ExponentialDecay, LinearDecay

PROBS = np.array([0.1, 0.2, 0.3, 0.4])
LOGITS = np.log(PROBS).astype(np.float32)
N = 40_000


def tile(logits, n):
    return tensor(np.tile(logits, (n, 1)))


def seed_of(a, b):
    return tensor([a, b], "int32")


def ordered_probability(order, p=PROBS):
    """Plackett-Luce: P(i_1, ..., i_m first) = prod_j p_{i_j} / (1 - sum_{l<j} p_{i_l})."""
    prob, left = 1.0, 1.0
    for i in order:
        prob *= p[i] / left
        left -= p[i]
    return prob


def subset_probability(subset, p=PROBS):
    """P(the drawn set is `subset`): the sum over its orders."""
    return sum(ordered_probability(order, p) for order in itertools.permutations(subset))


def inclusion_probability(i, k=2, n=4):
    """P(i is drawn) = the sum of P(S) over the k-subsets S holding i."""
    return sum(subset_probability(s) for s in itertools.combinations(range(n), k) if i in s)


def logsumexp(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def reference_steps(keys, k, temperature):
    """Xie & Ermon's relaxed top-k in float64 NumPy, with the exact
    `log(1 - a_i) = logsumexp_{j != i} z_j - logsumexp_j z_j`: `[..., k, n]`."""
    alpha = np.asarray(keys, np.float64)
    n = alpha.shape[-1]
    others = ~np.eye(n, dtype=bool)
    steps = []
    for _ in range(k):
        z = alpha / temperature
        lse = logsumexp(z)
        steps.append(np.exp(z - lse[..., None]))
        alpha = alpha + logsumexp(np.where(others, z[..., None, :], -np.inf)) - lse[..., None]
    return np.stack(steps, axis=-2)


def noise(shape, seed):
    """The Gumbel noise every sampler draws for `seed` (float32, as a NumPy
    float64 array)."""
    return numpy(G.sample_gumbel(shape, seed=seed)).astype(np.float64)


# gumbel_top_k: the exact sampler ----------------------------------------------


def test_gumbel_top_k_ordered_pairs_and_subsets_match_plackett_luce():
    k_hot, indices = G.gumbel_top_k(tile(LOGITS, N), 2, seed=1)
    k_hot, indices = numpy(k_hot), numpy(indices)
    assert dtype_of(G.gumbel_top_k(tile(LOGITS, 2), 2, seed=1)[1]) == "int32"
    assert k_hot.shape == (N, 4) and indices.shape == (N, 2)
    assert set(np.unique(k_hot)) == {0.0, 1.0} and (k_hot.sum(-1) == 2).all()
    # The k-hot is the indices' (which are distinct).
    np.testing.assert_array_equal(k_hot, np.eye(4)[indices].sum(1))
    pairs = [(i, j) for i in range(4) for j in range(4) if i != j]
    codes = indices[:, 0] * 4 + indices[:, 1]
    counts = [np.sum(codes == i * 4 + j) for i, j in pairs]
    assert_frequencies(counts, [ordered_probability(p) for p in pairs])
    subsets = list(itertools.combinations(range(4), 2))
    counts = [np.sum(k_hot[:, list(s)].sum(-1) == 2) for s in subsets]
    exact = [subset_probability(s) for s in subsets]
    np.testing.assert_allclose(sum(exact), 1.0)
    assert_frequencies(counts, exact)


def test_gumbel_top_k_one_is_gumbel_max_and_n_is_a_permutation():
    x, seed = tile(LOGITS, 500), seed_of(4, 2)
    k_hot, indices = G.gumbel_top_k(x, 1, seed=seed)
    np.testing.assert_array_equal(numpy(k_hot), numpy(G.gumbel_max(x, seed=seed)))
    columns = keras.ops.transpose(x)  # the same noise on any axis
    k_hot, _ = G.gumbel_top_k(columns, 1, axis=0, seed=seed)
    np.testing.assert_array_equal(numpy(k_hot), numpy(G.gumbel_max(columns, axis=0, seed=seed)))
    _, order = G.gumbel_top_k(x, 4, seed=seed)
    order = numpy(order)
    np.testing.assert_array_equal(order[:, :1], numpy(indices))
    np.testing.assert_array_equal(np.sort(order, -1), np.tile(np.arange(4), (500, 1)))
    # The order is that of decreasing perturbed logit, on the same noise.
    keys = LOGITS + noise((500, 4), seed)
    np.testing.assert_array_equal(order, np.argsort(-keys, axis=-1))


def test_gumbel_top_k_on_another_axis():
    logits = tensor(np.tile(LOGITS[:, None, None], (1, N // 4, 2)))  # categories on axis 0
    k_hot, indices = G.gumbel_top_k(logits, 2, axis=0, seed=5)
    k_hot, indices = numpy(k_hot), numpy(indices)
    assert k_hot.shape == (4, N // 4, 2) and indices.shape == (2, N // 4, 2)
    np.testing.assert_array_equal(k_hot.sum(0), 2.0)
    np.testing.assert_array_equal(np.take_along_axis(k_hot, indices, axis=0), 1.0)
    for i in range(4):
        ones, p = k_hot[i].sum(), inclusion_probability(i)
        assert_frequencies([k_hot[i].size - ones, ones], [1 - p, p])


@pytest.mark.tensorflow_only
def test_gumbel_top_k_permutations_are_tfp_plackett_luce():
    import tensorflow as tf
    import tensorflow_probability as tfp

    dist = tfp.distributions.PlackettLuce(scores=tf.constant(PROBS, tf.float32))
    perms = list(itertools.permutations(range(4)))
    tfp_probs = dist.prob(tf.constant(perms, tf.int32)).numpy().astype(np.float64)
    np.testing.assert_allclose(tfp_probs, [ordered_probability(p) for p in perms], rtol=1e-5)
    _, order = G.gumbel_top_k(tile(LOGITS, N), 4, seed=6)
    codes = numpy(order) @ np.array([64, 16, 4, 1])
    counts = [np.sum(codes == np.array(p) @ np.array([64, 16, 4, 1])) for p in perms]
    assert_frequencies(counts, tfp_probs / tfp_probs.sum())


@pytest.mark.tensorflow_only
def test_gumbel_top_k_compiled_by_xla_has_the_right_distribution():
    import tensorflow as tf

    # Inside XLA the noise is Threefry's, not Philox's.
    fn = tf.function(lambda x, s: G.gumbel_top_k(x, 2, seed=s)[0], jit_compile=True)
    k_hot = fn(tile(LOGITS, N), tf.constant([1, 2], tf.int32)).numpy()
    assert (k_hot.sum(-1) == 2).all()
    for i in range(4):
        ones, p = k_hot[:, i].sum(), inclusion_probability(i)
        assert_frequencies([N - ones, ones], [1 - p, p])


def test_gumbel_top_k_never_draws_impossible_categories():
    logits = np.array([0.0, -np.inf, 1.0, -np.inf, 0.5], np.float32)
    k_hot, _ = G.gumbel_top_k(tile(logits, 20_000), 3, seed=7)
    k_hot = numpy(k_hot)
    np.testing.assert_array_equal(k_hot, np.tile([1.0, 0, 1, 0, 1], (20_000, 1)))
    k_hot, _ = G.gumbel_top_k(tile(logits, 20_000), 2, seed=7)
    p = softmax(np.where(np.isinf(logits), -np.inf, logits))
    pairs = [(0, 2), (0, 4), (2, 4)]
    exact = [subset_probability(s, p) for s in pairs]
    k_hot = numpy(k_hot)
    assert (k_hot[:, [1, 3]] == 0).all()
    assert_frequencies([np.sum(k_hot[:, list(s)].sum(-1) == 2) for s in pairs], exact)


# relaxed_top_k: the relaxation ------------------------------------------------


@pytest.mark.parametrize("temperature", [0.3, 1.0, 3.0])
def test_relaxed_top_k_is_xie_and_ermon_on_the_same_noise(temperature):
    seed, k = seed_of(2, 3), 3
    logits = normal((256, 6), 1)
    steps = numpy(G.relaxed_top_k_steps(logits, k, temperature, seed=seed))
    y = numpy(G.relaxed_top_k(logits, k, temperature, seed=seed))
    expected = reference_steps(numpy(logits) + noise((256, 6), seed), k, temperature)
    # float32 against float64: the keys' rounding (~1e-6 of |keys| <= 6),
    # amplified by 1 / temperature through k softmaxes.
    np.testing.assert_allclose(steps, expected, rtol=0, atol=1e-5 / temperature)
    assert steps.shape == (256, k, 6)
    assert (steps >= 0).all() and (steps <= 1).all()
    np.testing.assert_allclose(steps.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(y, steps.sum(-2), atol=1e-6)
    assert (y >= 0).all()
    np.testing.assert_allclose(y.sum(-1), k, atol=1e-5)


def test_relaxed_top_k_can_exceed_one_as_the_paper_formula_does():
    # n = k = 2, temperature 1: a_1 = (p, 1 - p) and a_2 = (1/2, 1/2)
    # (alpha_2 = r + log(1 - a_1) makes the two keys equal), so the sum is
    # (p + 1/2, 3/2 - p), more than 1 in its larger entry.
    logits, seed = normal((64, 2), 3), 11
    y = numpy(G.relaxed_top_k(logits, 2, 1.0, seed=seed))
    p = softmax(numpy(logits) + noise((64, 2), seed))[:, 0]
    np.testing.assert_allclose(y, np.stack([p + 0.5, 1.5 - p], -1), atol=1e-5)
    assert (y.max(-1) > 1.0).all()


def test_relaxed_top_k_gradient_matches_finite_differences_of_the_formula():
    seed, k, tau = seed_of(5, 1), 2, 0.7
    logits, w = normal((4, 5), 2), normal((4, 5), 3)
    _, (grad,) = value_and_grad(lambda x: keras.ops.sum(w * G.relaxed_top_k(x, k, tau, seed=seed)), logits)
    g, x, w = noise((4, 5), seed), numpy(logits).astype(np.float64), numpy(w).astype(np.float64)

    def f(x):
        return (w * reference_steps(x + g, k, tau).sum(-2)).sum()

    h, expected = 1e-5, np.zeros_like(x)
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = h
        expected[index] = (f(x + e) - f(x - e)) / (2 * h)
    assert np.abs(expected).max() > 0.1
    np.testing.assert_allclose(grad, expected, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("seed", [3, "stateless"])
def test_hard_forward_is_gumbel_top_k_with_the_same_noise_and_gradient_is_relaxed(seed):
    seed = seed_of(8, 8) if seed == "stateless" else seed
    logits, w, k = normal((256, 7), 6), normal((256, 7), 7), 3
    hard = numpy(G.relaxed_top_k(logits, k, 0.5, hard=True, seed=seed))
    k_hot, indices = G.gumbel_top_k(logits, k, seed=seed)
    np.testing.assert_array_equal(hard, numpy(k_hot))
    steps = numpy(G.relaxed_top_k_steps(logits, k, 0.5, hard=True, seed=seed))
    np.testing.assert_array_equal(steps, np.eye(7)[numpy(indices)])

    def loss(hard):
        return lambda x: keras.ops.sum(w * G.relaxed_top_k(x, k, 0.5, hard=hard, seed=seed))

    _, (hard_grad,) = value_and_grad(loss(True), logits)
    _, (soft_grad,) = value_and_grad(loss(False), logits)
    np.testing.assert_array_equal(hard_grad, soft_grad)
    assert np.isfinite(soft_grad).all() and (np.abs(soft_grad).sum(-1) > 0).all()


def test_low_temperature_gives_the_k_hot():
    seed, k, tau = seed_of(3, 7), 3, 1e-3
    logits = normal((4000, 6), 4)
    y = numpy(G.relaxed_top_k(logits, k, tau, seed=seed))
    k_hot = numpy(G.gumbel_top_k(logits, k, seed=seed)[0])
    # Step j removes from its choice about its lead over the runner-up
    # divided by tau; a later step cannot choose it again once that exceeds
    # the spread of the top keys by 20, and every softmax is then one-hot
    # within n exp(-20). Rows whose top k + 1 keys have gaps > tau (20 +
    # spread) are the k-hot within 1e-5; nearly all rows are such rows.
    keys = -np.sort(-(numpy(logits) + noise((4000, 6), seed)), axis=-1)[:, : k + 1]
    gaps = (-np.diff(keys, axis=-1)).min(-1)
    clear = gaps > tau * (20 + keys[:, 0] - keys[:, -1])
    assert clear.mean() > 0.9
    np.testing.assert_allclose(y[clear], k_hot[clear], atol=1e-5)
    np.testing.assert_allclose(y.sum(-1), k, atol=1e-4)


def test_a_large_lead_is_not_chosen_twice():
    # The naive log(max(1 - a, tiny)) removes at most -log(tiny) = 87 from
    # a category whose first softmax rounds to 1: with a lead of 100 the
    # second step would choose it again (y[0] = 2).
    x = tensor([[100.0, 0.0, 0.0, 0.0], [0.0, 300.0, 0.0, 0.0]])
    y = numpy(G.relaxed_top_k(x, 2, 0.01, seed=1))
    np.testing.assert_allclose(y[[0, 1], [0, 1]], 1.0, atol=1e-6)
    np.testing.assert_allclose(y.sum(-1), 2.0, atol=1e-5)
    _, (grad,) = value_and_grad(lambda x: keras.ops.sum(G.relaxed_top_k(x, 2, 0.01, seed=1) ** 2), x)
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("hard", [False, True])
def test_relaxed_top_k_impossible_categories_stay_zero_with_finite_gradients(hard):
    logits = np.array([0.0, -np.inf, 1.0, -np.inf, 0.5], np.float32)
    x, w = tile(logits, 500), normal((500, 5), 1)
    tau = keras.Variable(0.5, trainable=True)
    _, (grad_x, grad_tau) = value_and_grad(
        lambda x, t: keras.ops.sum(w * G.relaxed_top_k(x, 2, t, hard=hard, seed=4)), x, tau
    )
    y = numpy(G.relaxed_top_k(x, 2, 0.5, hard=hard, seed=4))
    assert (y[:, [1, 3]] == 0).all() and np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(-1), 2.0, atol=1e-5)
    assert np.isfinite(grad_x).all() and np.isfinite(grad_tau) and grad_tau != 0
    assert (grad_x[:, [1, 3]] == 0).all() and np.abs(grad_x).sum() > 0


def test_relaxed_top_k_steps_on_another_axis():
    logits, seed = normal((5, 3, 8), 2), 9  # categories on axis 1 (n = 3)
    steps = numpy(G.relaxed_top_k_steps(logits, 2, 0.5, axis=1, seed=seed))
    assert steps.shape == (5, 2, 3, 8)  # the steps on axis 1, the categories on axis 2
    # The noise is drawn in the layout of the logits, as gumbel_softmax does.
    keys = np.moveaxis(numpy(logits) + noise((5, 3, 8), seed), 1, -1)
    np.testing.assert_allclose(np.moveaxis(steps, (1, 2), (-2, -1)), reference_steps(keys, 2, 0.5), atol=5e-5)
    y = numpy(G.relaxed_top_k(logits, 2, 0.5, axis=1, seed=seed))
    np.testing.assert_allclose(y, steps.sum(1), atol=1e-6)
    hard = numpy(G.relaxed_top_k_steps(logits, 2, 0.5, axis=1, hard=True, seed=seed))
    _, indices = G.gumbel_top_k(logits, 2, axis=1, seed=seed)
    np.testing.assert_array_equal(hard.argmax(2), numpy(indices))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("hard", [False, True])
def test_low_precision_logits(dtype, hard):
    x = keras.ops.cast(tile(LOGITS * 20, 1000), dtype)
    y = G.relaxed_top_k(x, 2, 0.1, hard=hard, seed=3)
    _, (grad,) = value_and_grad(
        lambda x: keras.ops.sum(
            keras.ops.cast(G.relaxed_top_k(x, 2, 0.1, hard=hard, seed=3), "float32") * tensor(np.arange(4.0))
        ),
        x,
    )
    assert dtype_of(y) == dtype and dtype_of(grad) == dtype
    y32 = numpy(keras.ops.cast(y, "float32"))
    assert np.isfinite(y32).all() and np.isfinite(grad.astype(np.float32)).all()
    np.testing.assert_allclose(y32.sum(-1), 2.0, atol=2e-2)
    k_hot, _ = G.gumbel_top_k(x, 2, seed=3)
    assert dtype_of(k_hot) == dtype
    if hard:
        np.testing.assert_array_equal(y32, numpy(keras.ops.cast(k_hot, "float32")))


def test_seeds_reproduce_and_generators_advance():
    x = tile(LOGITS, 100)

    def sample(seed):
        return numpy(G.relaxed_top_k(x, 2, 1.0, seed=seed))

    np.testing.assert_array_equal(sample(5), sample(5))
    assert not np.array_equal(sample(5), sample(6))
    np.testing.assert_array_equal(sample(seed_of(5, 7)), sample(seed_of(5, 7)))
    gen_a, gen_b = keras.random.SeedGenerator(3), keras.random.SeedGenerator(3)
    a = [sample(gen_a) for _ in range(3)]
    np.testing.assert_array_equal(a, [sample(gen_b) for _ in range(3)])
    assert not np.array_equal(a[0], a[1])
    a, b = (numpy(G.gumbel_top_k(x, 2, seed=5)[1]) for _ in range(2))
    np.testing.assert_array_equal(a, b)


# Refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, match",
    [
        (0, r"k must be an integer >= 1, received k=0"),
        (-1, r"k must be an integer >= 1, received k=-1"),
        (5, r"k must be an integer in \[1, 4\] \(the number of categories, logits.shape\[1\]\), "
            r"received k=5"),
        (2.0, r"k must be an integer >= 1, received k=2.0"),
        (True, r"k must be an integer >= 1, received k=True"),
        ("2", r"k must be an integer >= 1, received k='2'"),
        (None, r"k must be an integer >= 1, received k=None"),
    ],
)
@pytest.mark.parametrize("op", ["gumbel_top_k", "relaxed_top_k", "relaxed_top_k_steps"])
def test_bad_k_is_refused(op, k, match):
    with pytest.raises(ValueError, match=match):
        getattr(G, op)(tile(LOGITS, 2), k)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf"), "1", True, None])
@pytest.mark.parametrize("op", ["relaxed_top_k", "relaxed_top_k_steps"])
def test_bad_temperature_is_refused(op, temperature):
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, received temperature="):
        getattr(G, op)(tile(LOGITS, 2), 2, temperature)


def test_other_bad_arguments_are_refused():
    x = tile(LOGITS, 2)
    with pytest.raises(ValueError, match=r"hard must be True or False, received hard='yes'"):
        G.relaxed_top_k(x, 2, hard="yes")
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 2\).*received axis=2"):
        G.gumbel_top_k(x, 2, axis=2)
    with pytest.raises(TypeError, match=r"logits must be a floating-point tensor.*int32"):
        G.relaxed_top_k(tensor([[1, 2, 3]], "int32"), 2)
    with pytest.raises(ValueError, match=r"seed must be None, an integer.*received seed='7'"):
        G.gumbel_top_k(x, 2, seed="7")
    with pytest.raises(ValueError, match=r"categories axis must hold at least one category"):
        G.gumbel_top_k(tensor(np.zeros((2, 0))), 1)


@pytest.mark.tensorflow_only
def test_k_on_an_axis_of_unknown_size_is_refused_when_traced():
    import tensorflow as tf

    signature = [tf.TensorSpec([None, None], tf.float32)]
    fn = tf.function(lambda x: G.relaxed_top_k(x, 2), input_signature=signature)
    with pytest.raises(ValueError, match=r"k must be at most the number of categories, which must be known, "
                       r"received k=2 for logits of shape \(None, None\) \(axis=1\)"):
        fn.get_concrete_function()


# GumbelTopK -------------------------------------------------------------------

SHAPE = (2, 3, 5)

GUMBEL_TOP_K = [
    {"init": {"k": 2}, "training": True},
    {"init": {"k": 2, "hard": True}, "training": True},
    {"init": {"k": 5, "temperature": 0.3}, "training": True},
    {"init": {"k": 2, "inference": "argmax"}, "training": False},
    {"init": {"k": 3, "inference": "softmax", "temperature": 0.3}, "training": False},
    {"init": {"k": 2, "inference": "sample", "hard": True}, "training": None},
    {"init": {"k": 2, "trainable_temperature": True, "min_temperature": 0.1}, "training": True},
    {"init": {"k": 1, "trainable_temperature": True, "hard": True}, "training": True},
    {"init": {"k": 2, "axis": 1, "hard": True}, "training": True},
    {"init": {"k": 2, "axis": -2, "inference": "softmax"}, "training": False},
]

CONCRETE_SELECT = [
    {"init": {"k": 2}, "training": True},
    {"init": {"k": 2, "hard": True}, "training": True},
    {"init": {"k": 5, "method": "subset", "temperature": 0.3}, "training": True},
    {"init": {"k": 2, "method": "independent"}, "training": True},
    {"init": {"k": 3, "method": "independent", "hard": True}, "training": True},
    {"init": {"k": 2, "inference": "argmax"}, "training": False},
    {"init": {"k": 2, "method": "independent", "inference": "argmax"}, "training": False},
    {"init": {"k": 2, "inference": "softmax", "temperature": 0.3}, "training": False},
    {"init": {"k": 2, "method": "independent", "inference": "softmax"}, "training": False},
    {"init": {"k": 2, "inference": "sample", "hard": True}, "training": None},
    {"init": {"k": 2, "trainable_temperature": True}, "training": True},
    {"init": {"k": 2, "method": "independent", "trainable_temperature": True, "hard": True},
     "training": True},
    {"init": {"k": 2, "logits_initializer": "random_normal"}, "training": True},
]


def _id(case):
    return ",".join(f"{k}={v}" for k, v in case["init"].items()) + f";training={case['training']}"


def run_harness(cls, case, output_shape):
    init = {"seed": 3, **case["init"]}
    trainable = int(init.get("trainable_temperature", False))
    logits = int(cls is ConcreteSelect)
    TestCase().run_layer_test(
        cls,
        init_kwargs=init,
        input_shape=SHAPE,
        call_kwargs={"training": case["training"]},
        expected_output_shape=output_shape,
        expected_output_dtype="float32",
        expected_num_trainable_weights=trainable + logits,
        expected_num_non_trainable_weights=1 - trainable,
        expected_num_seed_generators=1,
        expected_num_losses=0,
        supports_masking=True,
    )


@pytest.mark.parametrize("case", GUMBEL_TOP_K, ids=_id)
def test_gumbel_top_k_layer_passes_the_keras_layer_harness(case):
    run_harness(GumbelTopK, case, SHAPE)


@pytest.mark.parametrize("case", CONCRETE_SELECT, ids=_id)
def test_concrete_select_passes_the_keras_layer_harness(case):
    run_harness(ConcreteSelect, case, SHAPE[:-1] + (case["init"]["k"],))


def test_gumbel_top_k_layer_samples_are_the_ops_and_inference_modes():
    x = normal((64, 6), 1)
    hard = GumbelTopK(3, hard=True, temperature=0.5, seed=7)
    # A layer's first draw is the op's with its integer seed.
    np.testing.assert_array_equal(numpy(hard(x, training=True)), numpy(G.gumbel_top_k(x, 3, seed=7)[0]))
    soft = GumbelTopK(3, temperature=0.5, seed=7)
    expected = numpy(G.relaxed_top_k(x, 3, 0.5, seed=7))
    np.testing.assert_allclose(numpy(soft(x, training=True)), expected, atol=1e-6)
    top = np.argsort(-numpy(x), axis=-1)[:, :3]
    np.testing.assert_array_equal(numpy(GumbelTopK(3)(x)), np.eye(6)[top].sum(1))
    np.testing.assert_allclose(
        numpy(GumbelTopK(3, temperature=0.7, inference="softmax")(x)),
        reference_steps(numpy(x), 3, 0.7).sum(-2),
        atol=2e-5,
    )
    sampler = GumbelTopK(3, inference="sample", seed=2)
    a, b = numpy(sampler(x)), numpy(sampler(x))
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(a.sum(-1), 3.0, atol=1e-5)
    assert GumbelTopK(2, axis=1).compute_output_shape((2, 6, 3)) == (2, 6, 3)
    columns = normal((6, 5, 2), 3)
    y = numpy(GumbelTopK(2, hard=True, axis=0, seed=4)(columns, training=True))
    np.testing.assert_array_equal(y, numpy(G.gumbel_top_k(columns, 2, axis=0, seed=4)[0]))


def test_gumbel_top_k_layer_hard_training_frequencies_are_plackett_luce():
    y = numpy(GumbelTopK(2, hard=True, seed=12)(tile(LOGITS, N), training=True))
    subsets = list(itertools.combinations(range(4), 2))
    counts = [np.sum(y[:, list(s)].sum(-1) == 2) for s in subsets]
    assert_frequencies(counts, [subset_probability(s) for s in subsets])


def _round_trip(model, path):
    model.save(path)
    return keras.models.load_model(path)


def test_gumbel_top_k_layer_keras_file_keeps_temperature_and_random_state(tmp_path):
    inputs = keras.Input((8,))
    layer = GumbelTopK(3, temperature=1.0, seed=3, inference="sample", name="topk")
    model = keras.Model(inputs, layer(keras.layers.Dense(6)(inputs)))
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    model.predict(x, verbose=0)  # advances the random state
    layer.temperature.assign(0.37)
    loaded = _round_trip(model, tmp_path / "m.keras")
    revived = loaded.get_layer("topk")
    assert isinstance(revived, GumbelTopK) and revived.get_config() == layer.get_config()
    assert float(revived.temperature.numpy()) == pytest.approx(0.37)
    np.testing.assert_array_equal(numpy(revived.seed_generator.state), numpy(layer.seed_generator.state))
    # The loaded model draws what the saved one draws next.
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    config = layer.get_config()
    assert GumbelTopK.from_config(json.loads(json.dumps(config))).get_config() == config


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, r"k must be an integer >= 1, received k=0"),
        ({"k": 1.5}, r"k must be an integer >= 1, received k=1.5"),
        ({"k": True}, r"k must be an integer >= 1, received k=True"),
        ({"k": 2, "temperature": 0}, r"temperature must be a finite number > 0, received temperature=0"),
        ({"k": 2, "temperature": float("inf")}, r"received temperature=inf"),
        ({"k": 2, "hard": 1}, r"hard must be True or False, received hard=1"),
        ({"k": 2, "axis": 0.5}, r"axis must be an integer, received axis=0.5"),
        ({"k": 2, "inference": "top"}, r"inference must be one of .*received inference='top'"),
    ],
)
def test_gumbel_top_k_layer_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GumbelTopK(**kwargs)


def test_gumbel_top_k_layer_bad_inputs_are_refused():
    too_many = r"k must be an integer in \[1, 4\] \(the number of categories, inputs.shape\[1\]\), "
    too_many += r"received k=5"
    with pytest.raises(ValueError, match=too_many):
        GumbelTopK(5)(tile(LOGITS, 2))
    unknown = (
        r"k must be at most the number of categories, which must be known, "
        r"received k=2 for inputs of shape \(None, None\)"
    )
    with pytest.raises(ValueError, match=unknown):
        GumbelTopK(2)(keras.Input((None,)))
    bad_axis = r"axis must be an integer in \[-2, 2\) for inputs of rank 2, received axis=2"
    with pytest.raises(ValueError, match=bad_axis):
        GumbelTopK(2, axis=2)(tile(LOGITS, 2))
    with pytest.raises(TypeError, match="expects floating-point logits, received inputs of dtype int32"):
        GumbelTopK(1)(tensor([[1, 2, 3]], "int32"))


# ConcreteSelect ---------------------------------------------------------------


def test_concrete_select_hard_training_selects_the_sampled_features_exactly():
    x, w = normal((16, 6), 1), normal((16, 3), 2)
    init = keras.initializers.RandomNormal(seed=4)
    subset = ConcreteSelect(3, hard=True, seed=5, logits_initializer=init)
    y = numpy(subset(x, training=True))
    # The layer's first draw is the op's on its logits, the columns in the
    # order of the features' indices.
    _, indices = G.gumbel_top_k(subset.logits, 3, seed=5)
    np.testing.assert_array_equal(y, numpy(x)[:, np.sort(numpy(indices))])
    independent = ConcreteSelect(3, method="independent", hard=True, seed=5, logits_initializer=init)
    y = numpy(independent(x, training=True))
    rows = numpy(G.gumbel_max(independent.logits, seed=5)).argmax(-1)
    np.testing.assert_array_equal(y, numpy(x)[:, rows])
    for layer in (subset, independent):

        def loss(_, layer=layer):
            return keras.ops.sum(w * layer(x, training=True))

        _, (grad,) = value_and_grad(loss, layer.logits, seed_generators=[layer.seed_generator])
        assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_concrete_select_soft_training_is_x_times_the_relaxed_selection():
    x = normal((16, 6), 1)
    init = keras.initializers.RandomNormal(seed=1)
    layer = ConcreteSelect(3, temperature=0.5, seed=6, logits_initializer=init)
    y = numpy(layer(x, training=True))
    steps = numpy(G.relaxed_top_k_steps(layer.logits, 3, 0.5, seed=6))
    _, indices = G.gumbel_top_k(layer.logits, 3, seed=6)
    matrix = steps[np.argsort(numpy(indices))]
    np.testing.assert_allclose(y, numpy(x) @ matrix.T, atol=1e-5)
    independent = ConcreteSelect(3, method="independent", temperature=0.5, seed=6)
    y = numpy(independent(x, training=True))
    matrix = numpy(G.gumbel_softmax(independent.logits, 0.5, seed=6))
    np.testing.assert_allclose(y, numpy(x) @ matrix.T, atol=1e-5)


def test_concrete_select_inference_and_duplicates_are_reported():
    x = normal((8, 6), 2)
    subset = ConcreteSelect(3)
    subset.build((None, 6))
    subset.logits.assign([0.0, 3.0, -1.0, 2.0, 5.0, 1.0])
    np.testing.assert_array_equal(subset.selected_indices(), [1, 3, 4])
    np.testing.assert_array_equal(numpy(subset(x)), numpy(x)[:, [1, 3, 4]])
    assert subset.unique_features() == 3
    independent = ConcreteSelect(3, method="independent")
    independent.build((None, 6))
    logits = np.full((3, 6), -1.0, np.float32)
    logits[[0, 1, 2], [4, 1, 4]] = 2.0
    independent.logits.assign(logits)
    np.testing.assert_array_equal(independent.selected_indices(), [4, 1, 4])
    assert independent.unique_features() == 2
    np.testing.assert_array_equal(numpy(independent(x)), numpy(x)[:, [4, 1, 4]])
    soft = ConcreteSelect(3, method="independent", inference="softmax", temperature=2.0)
    soft.build((None, 6))
    soft.logits.assign(logits)
    np.testing.assert_allclose(numpy(soft(x)), numpy(x) @ softmax(logits / 2.0).T, atol=1e-5)
    assert ConcreteSelect(2).compute_output_shape((4, 7, 6)) == (4, 7, 2)
    with pytest.raises(ValueError, match="has selected nothing yet"):
        ConcreteSelect(2).selected_indices()


def test_concrete_select_keras_file_keeps_logits_temperature_and_random_state(tmp_path):
    layer = ConcreteSelect(3, method="independent", seed=8, name="select", logits_initializer="random_normal")
    model = keras.Sequential([keras.Input((6,)), layer, keras.layers.Dense(2)], name="saved_select")
    x = np.random.default_rng(1).normal(size=(5, 6)).astype("float32")
    model(x, training=True)  # advances the random state
    layer.temperature.assign(0.2)
    loaded = _round_trip(model, tmp_path / "m.keras")
    revived = loaded.get_layer("select")
    assert isinstance(revived, ConcreteSelect) and revived.get_config() == layer.get_config()
    assert float(revived.temperature.numpy()) == pytest.approx(0.2)
    np.testing.assert_array_equal(numpy(revived.logits), numpy(layer.logits))
    np.testing.assert_array_equal(revived.selected_indices(), layer.selected_indices())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(numpy(loaded(x, training=True)), numpy(model(x, training=True)), atol=1e-6)
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config
    assert ConcreteSelect.from_config(config).get_config() == config


def test_temperature_scheduler_anneals_the_subset_layers():
    inputs = keras.Input((6,))
    select = ConcreteSelect(3, seed=1)
    top_k = GumbelTopK(2, seed=2)
    outputs = top_k(keras.layers.Dense(4)(select(inputs)))
    model = keras.Model(inputs, outputs)
    assert set(find_temperature_layers(model)) == {select, top_k}
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
    schedule = LinearDecay(1.0, 0.25, steps=8)
    history = model.fit(
        x, np.zeros((32, 4), "float32"), batch_size=8, epochs=2, verbose=0, shuffle=False,
        callbacks=[TemperatureScheduler(schedule)],
    )
    np.testing.assert_allclose(history.history["temperature"], [schedule(3), schedule(7)])
    for layer in (select, top_k):
        assert float(layer.temperature.numpy()) == pytest.approx(schedule(7))


def test_concrete_select_subset_learns_the_informative_features_without_duplicates():
    # n = 10 features, the target the sum of 3 of them: only the subset
    # {1, 4, 7} lets a linear decoder reach a zero loss.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 10)).astype("float32")
    y = x[:, [1, 4, 7]].sum(-1, keepdims=True)
    select = ConcreteSelect(3, seed=0)
    dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=0))
    model = keras.Sequential([keras.Input((10,)), select, dense], name="learned_select")
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    model.fit(
        x, y, batch_size=64, epochs=25, verbose=0, shuffle=False,
        callbacks=[TemperatureScheduler(ExponentialDecay(1.0, 0.015, 0.05))],
    )
    np.testing.assert_array_equal(select.selected_indices(), [1, 4, 7])
    assert select.unique_features() == 3
    # A wrong subset leaves at least one unit of target variance unexplained.
    assert model.evaluate(x, y, verbose=0) < 0.3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, r"k must be an integer >= 1, received k=0"),
        ({"k": True}, r"k must be an integer >= 1, received k=True"),
        (
            {"k": 2, "method": "greedy"},
            r"method must be one of \('subset', 'independent'\), received method='greedy'",
        ),
        ({"k": 2, "temperature": -1.0}, r"temperature must be a finite number > 0, received temperature=-1"),
        ({"k": 2, "temperature": float("nan")}, r"received temperature=nan"),
        ({"k": 2, "hard": "no"}, r"hard must be True or False, received hard='no'"),
        ({"k": 2, "seed": 1.5}, r"seed must be None or an integer, received seed=1.5"),
    ],
)
def test_concrete_select_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConcreteSelect(**kwargs)


@pytest.mark.parametrize("method", ["subset", "independent"])
def test_concrete_select_bad_inputs_are_refused(method):
    too_many = r"k must be an integer in \[1, 4\] \(the number of features, inputs.shape\[1\]\), received k=5"
    with pytest.raises(ValueError, match=too_many):
        ConcreteSelect(5, method=method)(tile(LOGITS, 2))
    unknown = (
        r"k must be at most the number of features, which must be known, "
        r"received k=2 for inputs of shape \(None, None\)"
    )
    with pytest.raises(ValueError, match=unknown):
        ConcreteSelect(2, method=method)(keras.Input((None,)))
    with pytest.raises(TypeError, match="expects floating-point features, received inputs of dtype int32"):
        ConcreteSelect(1, method=method)(tensor([[1, 2, 3]], "int32"))
