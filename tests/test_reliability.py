"""Regression tests for the core defects of issue 15, one section per defect.

Each was found by running other projects' test cases (PyTorch's
`gumbel_softmax` tests, TFP's relaxed-distribution tests, Keras' layer
harness) against keras_gumbel; each test states the wanted behaviour.
"""

import itertools
import re

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli, TemperatureScheduler
from keras_gumbel import ops as G

ESTIMATORS = G.ESTIMATORS
LAYERS = (GumbelSoftmax, RelaxedBernoulli)
X = tf.constant([[0.1, 0.9]])


def hard_of(estimator):
    return estimator != "relaxed"


def sample_op(estimator):
    """The op of `estimator` ("bernoulli" for relaxed_bernoulli) as f(x, tau, seed)."""
    if estimator == "bernoulli":
        return lambda x, t, seed: G.relaxed_bernoulli(x, t, seed=seed)
    return lambda x, t, seed: G.gumbel_softmax(x, t, hard=hard_of(estimator), estimator=estimator, seed=seed)


def small_model(layer):
    inputs = keras.Input((6,))
    logits = keras.layers.Reshape((2, 3))(keras.layers.Dense(6)(inputs))
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(layer(logits)))
    return keras.Model(inputs, outputs)


# 1. A temperature <= 0 or NaN reaching a sampler through a variable or tensor --


BAD_TEMPERATURES = [(0.0, r"0\.0"), (-0.07, r"-0\.07"), (float("nan"), "nan")]


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("value, shown", BAD_TEMPERATURES)
def test_layer_refuses_a_bad_temperature_variable_eagerly(cls, value, shown):
    layer = cls(temperature=1.0, seed=1)
    assert layer(X, training=True).shape == X.shape
    layer.temperature.assign(value)
    with pytest.raises(ValueError, match=rf"temperature must be a finite number > 0, received temperature={shown}"):
        layer(X, training=True)
    # The relaxed inference mode divides by the temperature too.
    softmax = cls(temperature=1.0, inference="softmax")
    softmax.temperature.assign(value)
    with pytest.raises(ValueError, match=rf"received temperature={shown}"):
        softmax(X)


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if e != "reinmax"] + ["bernoulli"])
@pytest.mark.parametrize("value, shown", BAD_TEMPERATURES)
def test_ops_refuse_a_bad_tensor_temperature_eagerly(estimator, value, shown):
    op = sample_op(estimator)
    for temperature in (tf.constant(value), tf.Variable(value), tf.constant(value, tf.float64)):
        with pytest.raises(ValueError, match=rf"temperature must be a finite number > 0, received temperature={shown}"):
            op(X, temperature, 1)


@pytest.mark.parametrize("estimator", ["relaxed", "straight_through", "bernoulli"])
def test_traced_ops_fail_a_bad_tensor_temperature_with_an_assertion(estimator):
    op = sample_op(estimator)
    traced = tf.function(lambda t: op(X, t, tf.constant([1, 2])))
    assert np.isfinite(traced(tf.constant(0.5)).numpy()).all()
    for value in (0.0, -0.07, float("nan")):
        with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
            traced(tf.constant(value))


@pytest.mark.parametrize("cls", LAYERS)
def test_compiled_fit_without_xla_fails_a_bad_temperature(cls):
    layer = cls(temperature=1.0, seed=1)
    model = small_model(layer)
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    x, y = np.ones((8, 6), "float32"), np.zeros((8, 1), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    for value in (0.0, -0.07, float("nan")):
        layer.temperature.assign(value)
        with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
            model.fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("bad", [0.0, -0.5, float("nan")])
def test_scheduler_refuses_a_bad_schedule_value_and_keeps_the_last_good_one(jit_compile, bad):
    layer = GumbelSoftmax(temperature=1.0, seed=1)
    model = small_model(layer)
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    x, y = np.ones((8, 6), "float32"), np.zeros((8, 1), "float32")
    schedule = lambda epoch: 0.5 if epoch < 2 else bad  # noqa: E731
    with pytest.raises(ValueError, match=rf"(?s)epoch=2.*{'nan' if bad != bad else re.escape(repr(bad))}"):
        model.fit(x, y, epochs=4, verbose=0, callbacks=[TemperatureScheduler(schedule, update="epoch")])
    assert float(layer.temperature.numpy()) == 0.5


# 2. Samples and layer.distribution(logits) agree in dtype ----------------------

POLICIES = ["float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16"]


def interior(y):
    y = np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(y, "float32")))
    return (y > 0) & (y < 1)


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("logits_dtype", ["float32", "float64", "float16"])
def test_distribution_scores_the_layer_samples_for_every_dtype(cls, policy, logits_dtype):
    layer = cls(temperature=0.5, seed=4, dtype=policy)
    logits = tf.cast(tf.random.stateless_uniform([16, 3], seed=[1, 1]), logits_dtype)
    y = layer(logits, training=True)
    assert y.dtype == layer.compute_dtype
    log_prob = keras.ops.convert_to_numpy(layer.distribution(logits).log_prob(y))
    ok = interior(y).all(-1) if cls is GumbelSoftmax else interior(y)
    assert log_prob.shape == ((16,) if cls is GumbelSoftmax else (16, 3))
    assert ok.mean() > 0.8 and np.isfinite(log_prob[ok]).all()
    # The same density as the float64 distribution at the same point.
    ref_layer = cls(temperature=0.5, dtype="float64")
    ref = ref_layer.distribution(tf.cast(logits, "float64")).log_prob(tf.cast(y, "float64")).numpy()
    scale = np.maximum(1.0, np.abs(ref[ok]))
    assert (np.abs(log_prob[ok] - ref[ok]) <= 2e-3 * scale).all()


# 3. An empty category axis ----------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_ops_refuse_an_empty_category_axis(estimator):
    match = r"(?s)axis.*\(2, 0\)"
    with pytest.raises(ValueError, match=match):
        G.gumbel_softmax(tf.zeros((2, 0)), 1.0, hard=hard_of(estimator), estimator=estimator, seed=1)
    with pytest.raises(ValueError, match=r"(?s)axis.*\(0, 3\)"):
        G.gumbel_softmax(tf.zeros((0, 3)), 1.0, axis=0, hard=hard_of(estimator), estimator=estimator, seed=1)


def test_gumbel_max_and_one_hot_argmax_refuse_an_empty_category_axis():
    with pytest.raises(ValueError, match=r"(?s)axis.*\(2, 0\)"):
        G.gumbel_max(tf.zeros((2, 0)), seed=1)
    with pytest.raises(ValueError, match=r"(?s)axis.*\(4, 0, 2\)"):
        G.one_hot_argmax(tf.zeros((4, 0, 2)), axis=1)


def test_an_empty_batch_is_still_fine():
    for hard in (False, True):
        assert G.gumbel_softmax(tf.zeros((0, 3)), 1.0, hard=hard, seed=1).shape == (0, 3)
        assert GumbelSoftmax(hard=hard, seed=1)(tf.zeros((0, 3)), training=True).shape == (0, 3)
    assert G.gumbel_max(tf.zeros((0, 3)), seed=1).shape == (0, 3)
    assert G.relaxed_bernoulli(tf.zeros((0,)), 1.0, seed=1).shape == (0,)


@pytest.mark.parametrize("inference", ["argmax", "softmax", "sample"])
def test_layer_refuses_an_empty_category_axis(inference):
    with pytest.raises(ValueError, match=r"(?s)axis.*\(2, 0\)"):
        GumbelSoftmax(inference=inference, seed=1)(tf.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"(?s)axis.*\(None, 0\)"):
        GumbelSoftmax(inference=inference)(keras.Input((0,)))
    with pytest.raises(ValueError, match=r"(?s)axis.*\(3, 0, 2\)"):
        GumbelSoftmax(axis=1, hard=True, seed=1)(tf.zeros((3, 0, 2)), training=True)


# 4. Integer seeds at or above 2**31 ------------------------------------------

SEEDS = [
    0, 1, 2, 7, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1, 2**32, 2**32 + 1, 2**32 + 7,
    2**33, 2**62, 2**63 - 1, -1, -2, -(2**31), -(2**32), -(2**63),
]
LOGITS = tf.random.stateless_normal((64, 8), seed=[3, 3])


def assert_all_distinct(samples):
    for (a, x), (b, y) in itertools.combinations(samples.items(), 2):
        assert not np.array_equal(x, y), f"seeds {a} and {b} gave the same sample"


@pytest.mark.parametrize("estimator", ["relaxed", "gumbel_max", "bernoulli"])
def test_distinct_integer_seeds_give_distinct_deterministic_samples(estimator):
    if estimator == "gumbel_max":
        op = lambda seed: G.gumbel_max(LOGITS, seed=seed)  # noqa: E731
    else:
        op = lambda seed: sample_op(estimator)(LOGITS, 1.0, seed)  # noqa: E731
    samples = {s: op(s).numpy() for s in SEEDS}
    assert_all_distinct(samples)
    for s in (2**31, 2**40 + 3, -5):
        np.testing.assert_array_equal(op(s).numpy(), samples.get(s, op(s).numpy()))


@pytest.mark.parametrize("cls", LAYERS)
def test_distinct_layer_seeds_give_distinct_streams_and_match_the_ops(cls):
    streams = {}
    for s in SEEDS:
        layer = cls(temperature=1.0, seed=s)
        for call in range(3):
            streams[(s, call)] = layer(LOGITS, training=True).numpy()
        # A layer's first draw is the op's draw with the same integer seed.
        op = G.gumbel_softmax if cls is GumbelSoftmax else G.relaxed_bernoulli
        np.testing.assert_array_equal(streams[(s, 0)], op(LOGITS, 1.0, seed=s).numpy(), err_msg=f"seed={s}")
    assert_all_distinct(streams)
    again = cls(temperature=1.0, seed=2**40 + 1)
    first = cls(temperature=1.0, seed=2**40 + 1)
    np.testing.assert_array_equal(again(LOGITS, training=True), first(LOGITS, training=True))


def test_distinct_seeds_differ_under_xla_too():
    def compiled(seed):
        return tf.function(lambda x: G.gumbel_softmax(x, 1.0, seed=seed), jit_compile=True)

    outs = {s: compiled(s)(LOGITS).numpy() for s in (1, 2**31, 2**32 + 1, -1)}
    assert_all_distinct(outs)
    layers = {s: GumbelSoftmax(seed=s) for s in (1, 2**31, 2**32 + 1, -1)}
    outs = {s: tf.function(lambda x, la=la: la(x, training=True), jit_compile=True)(LOGITS).numpy() for s, la in layers.items()}
    assert_all_distinct(outs)


def test_seeds_outside_what_seed_generator_takes_are_refused_by_name():
    for seed in (2**63, -(2**63) - 1, 2**64):
        with pytest.raises(ValueError, match=rf"seed must be .*received seed={seed}"):
            G.gumbel_softmax(X, 1.0, seed=seed)
        with pytest.raises(ValueError, match=rf"seed must be .*received seed={seed}"):
            GumbelSoftmax(seed=seed)
        with pytest.raises(ValueError, match=rf"seed must be .*received seed={seed}"):
            RelaxedBernoulli(seed=seed)


def test_export_seed_mapping_is_the_ops_mapping():
    from keras_gumbel.export import stateless_seed_from_int64

    for s in SEEDS:
        np.testing.assert_array_equal(
            G.gumbel_max(LOGITS, seed=stateless_seed_from_int64(tf.constant(s, tf.int64))),
            G.gumbel_max(LOGITS, seed=s),
            err_msg=f"seed={s}",
        )


# 5. A +inf logit is a certain category ----------------------------------------

INF_LOGITS = np.array(
    [[np.inf, 0.0, 0.0], [1.0, np.inf, -np.inf], [-np.inf, -3.0, np.inf], [0.5, 1e4, np.inf]], np.float32
)
INF_ONE_HOT = np.eye(3, dtype=np.float32)[[0, 1, 2, 2]]


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("trainable", [False, True])
def test_a_positive_infinite_logit_gives_its_one_hot(estimator, dtype, trainable):
    temperature = 1.5 if estimator == "reinmax" else 0.5
    tau = tf.Variable(temperature, trainable=trainable)
    x = tf.constant(INF_LOGITS, dtype)
    w = tf.constant([[1.0, 2.0, 3.0]] * 4, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = G.gumbel_softmax(x, tau, hard=hard_of(estimator), estimator=estimator, seed=3, samples=3 if estimator == "gumbel_rao" else 1)
        loss = tf.reduce_sum(y * w)
    np.testing.assert_array_equal(tf.cast(y, "float32").numpy(), INF_ONE_HOT)
    grad_x, grad_tau = tape.gradient(loss, [x, tau])
    assert np.isfinite(tf.cast(grad_x, "float32").numpy()).all()
    assert grad_tau is None or np.isfinite(grad_tau.numpy())


def test_a_positive_infinite_logit_in_gumbel_max_bernoulli_and_the_layers():
    np.testing.assert_array_equal(G.gumbel_max(INF_LOGITS, seed=1).numpy(), INF_ONE_HOT)
    x = tf.constant([[np.inf, -np.inf, 0.0]])
    for hard in (False, True):
        y = G.relaxed_bernoulli(x, tf.Variable(0.5), hard=hard, seed=1).numpy()
        np.testing.assert_array_equal(y[:, :2], [[1.0, 0.0]])
    for inference in ("argmax", "softmax", "sample"):
        layer = GumbelSoftmax(temperature=0.5, inference=inference, seed=1)
        np.testing.assert_array_equal(layer(INF_LOGITS).numpy(), INF_ONE_HOT)
        np.testing.assert_array_equal(layer(INF_LOGITS, training=True).numpy(), INF_ONE_HOT)
        bern = RelaxedBernoulli(temperature=0.5, inference=inference, seed=1)
        np.testing.assert_array_equal(bern(x).numpy()[:, :2], [[1.0, 0.0]])


# 6. Keras masks pass through both layers -------------------------------------


@pytest.mark.parametrize("cls", LAYERS)
def test_layers_pass_the_mask_through(cls):
    layer = cls(seed=1)
    assert layer.supports_masking
    mask = tf.constant([[True, False, True]])
    x = tf.zeros((1, 3, 4))
    assert layer.compute_mask(x, mask) is mask
    inputs = keras.Input((None, 4))
    out = layer(keras.layers.Masking(0.0)(inputs))
    assert out._keras_mask is not None


@pytest.mark.parametrize("cls", LAYERS)
def test_masked_padding_does_not_change_an_lstm_after_the_sampler(cls):
    inputs = keras.Input((None, 4))
    masked = keras.layers.Masking(0.0)(inputs)
    outputs = keras.layers.LSTM(5, seed=0)(cls(temperature=0.7, inference="softmax")(masked))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    padded = np.concatenate([x, np.zeros((2, 4, 4), "float32")], axis=1)
    np.testing.assert_allclose(model(padded).numpy(), model(x).numpy(), atol=1e-6)


# Found by the property tests -------------------------------------------------


@pytest.mark.parametrize("cls", LAYERS)
def test_softmax_inference_with_a_trainable_temperature_has_finite_gradients_at_infinite_logits(cls):
    layer = cls(temperature=1.0, trainable_temperature=True, inference="softmax")
    x = tf.constant([[0.0, -np.inf, 2.0], [np.inf, 0.0, -np.inf]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * [1.0, 2.0, 3.0])
    grad_x, grad_tau = tape.gradient(loss, [x, layer.temperature])
    assert np.isfinite(y.numpy()).all()
    assert np.isfinite(grad_x.numpy()).all() and np.isfinite(grad_tau.numpy())


def test_ops_refuse_a_bool_axis():
    for axis in (False, True):
        with pytest.raises(ValueError, match=rf"axis must be .*received axis={axis}"):
            G.gumbel_softmax(X, 1.0, axis=axis, seed=1)
        with pytest.raises(ValueError, match=rf"axis must be .*received axis={axis}"):
            G.gumbel_max(X, axis=axis, seed=1)
