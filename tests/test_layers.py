import json

import numpy as np
import pytest
from helpers import assert_frequencies, dtype_of, normal, numpy, softmax, tensor, value_and_grad

import keras
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli
from keras_gumbel import ops as gumbel_ops
from keras_gumbel.callbacks import find_temperature_layers

LOGITS = np.log(np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32))


def tile(n):
    return tensor(np.tile(LOGITS, (n, 1)))


def small_model(layer):
    inputs = keras.Input((8,))
    logits = keras.layers.Reshape((3, 4))(keras.layers.Dense(12)(inputs))
    return keras.Model(inputs, layer(logits))


def test_training_samples_follow_the_relaxed_one_hot_categorical():
    layer = GumbelSoftmax(temperature=0.5, seed=1)
    y = numpy(layer(tile(30_000), training=True))
    gumbel = np.random.default_rng(4).gumbel(size=y.shape)
    ref = softmax((LOGITS + gumbel) / 0.5)
    # Same distribution: the per-category means of relaxed samples agree
    # within 5 standard errors of their difference.
    se = np.sqrt(y.var(0) / len(y) + ref.var(0) / len(ref))
    assert (np.abs(y.mean(0) - ref.mean(0)) < 5 * se).all()


def test_training_samples_follow_the_layer_distribution():
    layer = GumbelSoftmax(temperature=0.5, seed=1)
    y = numpy(layer(tile(30_000), training=True))
    dist = layer.distribution(tile(30_000))
    assert float(numpy(dist.temperature)) == 0.5
    ref = numpy(dist.sample(seed=4))
    se = np.sqrt(y.var(0) / len(y) + ref.var(0) / len(ref))
    assert (np.abs(y.mean(0) - ref.mean(0)) < 5 * se).all()


def test_distribution_reads_the_current_temperature():
    layer = GumbelSoftmax(temperature=1.0)
    layer.temperature.assign(0.25)
    assert float(numpy(layer.distribution(tile(2)).temperature)) == 0.25


def distribution_types(*names):
    """The classes `distribution()` returns on this backend: TFP's on
    TensorFlow, keras_gumbel's own (built on keras_gumbel.ops) elsewhere."""
    from keras_gumbel import _distributions

    if keras.backend.backend() == "tensorflow":
        import tensorflow_probability as tfp

        return tuple(getattr(tfp.distributions, name) for name in names)
    return tuple(getattr(_distributions, name) for name in names)


@pytest.mark.parametrize("estimator", gumbel_ops.ESTIMATORS)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_distribution_scores_the_layer_samples_for_every_estimator_and_axis(estimator, axis):
    # Before: axis=1 failed on TensorFlow (the distribution moved the axis,
    # the samples did not), and the relaxed density of a hard sample's
    # exact one-hot was NaN.
    hard = estimator != "relaxed"
    samples = 2 if estimator == "gumbel_rao" else 1
    layer = GumbelSoftmax(temperature=1.5, axis=axis, estimator=estimator, samples=samples, hard=hard, seed=3)
    x = normal((6, 4, 5), 2)
    y = layer(x, training=True)
    dist = layer.distribution(x)
    expected_type = "OneHotCategorical" if hard else "RelaxedOneHotCategorical"
    assert isinstance(dist, distribution_types(expected_type))
    log_prob = numpy(dist.log_prob(y))
    assert log_prob.shape == tuple(np.delete(x.shape, axis))
    assert np.isfinite(log_prob).all()
    if hard:
        expected = gumbel_ops.categorical_log_prob(x, y, axis=axis)
    else:
        expected = gumbel_ops.relaxed_one_hot_log_prob(x, 1.5, y, axis=axis)
    # TFP's and ours: to float32 rounding (TFP's OneHotCategorical takes a
    # softmax cross-entropy).
    np.testing.assert_allclose(log_prob, numpy(expected), rtol=1e-5, atol=1e-5)
    # Samples in the layer's layout, with sample dimensions in front.
    draws = numpy(dist.sample(3, seed=5))
    assert draws.shape == (3,) + tuple(x.shape)
    np.testing.assert_allclose(draws.sum(axis % 3 + 1), 1.0, atol=1e-5)
    if hard:
        assert set(np.unique(draws)) <= {0.0, 1.0}
    assert np.isfinite(numpy(dist.log_prob(draws))).all()


def test_hard_distribution_samples_are_the_layer_categorical():
    layer = GumbelSoftmax(temperature=0.5, hard=True, seed=2)
    draws = numpy(layer.distribution(tile(20_000)).sample(seed=6))
    assert set(np.unique(draws)) == {0.0, 1.0} and (draws.sum(-1) == 1).all()
    assert_frequencies(draws.sum(0), softmax(LOGITS))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_distribution_scores_half_precision_samples_in_float32(mixed_policy, policy):
    mixed_policy(policy)
    for layer in (GumbelSoftmax(temperature=0.5, seed=4), GumbelSoftmax(temperature=0.5, hard=True, seed=4),
                  RelaxedBernoulli(temperature=0.5, seed=4), RelaxedBernoulli(temperature=0.5, hard=True, seed=4)):
        y = layer(tile(16), training=True)
        assert dtype_of(y) == policy.split("_")[1]
        log_prob = layer.distribution(tile(16)).log_prob(y)
        assert dtype_of(log_prob) == "float32"
        finite = np.isfinite(numpy(log_prob))
        assert finite.mean() > 0.8  # half-precision samples may round onto an edge


def test_hard_training_output_is_exact_one_hot_with_softmax_frequencies():
    y = numpy(GumbelSoftmax(temperature=0.5, hard=True, seed=2)(tile(30_000), training=True))
    assert set(np.unique(y)) == {0.0, 1.0} and (y.sum(-1) == 1).all()
    assert_frequencies(y.sum(0), softmax(LOGITS))


def test_inference_modes():
    x = tile(5)
    np.testing.assert_array_equal(numpy(GumbelSoftmax()(x)), np.eye(4)[np.full(5, 3)])
    np.testing.assert_array_equal(numpy(GumbelSoftmax()(x, training=False)), np.eye(4)[np.full(5, 3)])
    np.testing.assert_allclose(
        numpy(GumbelSoftmax(temperature=2.0, inference="softmax")(x)),
        softmax(np.tile(LOGITS, (5, 1)) / 2),
        atol=1e-6,
    )
    sampler = GumbelSoftmax(inference="sample", seed=3)
    a, b = numpy(sampler(x)), numpy(sampler(x))
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-6)


def test_same_seed_same_sequence_and_successive_calls_differ():
    a, b, c = GumbelSoftmax(seed=7), GumbelSoftmax(seed=7), GumbelSoftmax(seed=8)
    x = tile(50)
    seq_a = [numpy(a(x, training=True)) for _ in range(3)]
    seq_b = [numpy(b(x, training=True)) for _ in range(3)]
    np.testing.assert_array_equal(seq_a, seq_b)
    assert not np.array_equal(seq_a[0], seq_a[1])
    assert not np.array_equal(seq_a[0], numpy(c(x, training=True)))


def test_axis_and_output_shape():
    layer = GumbelSoftmax(axis=1, hard=True, seed=1)
    x = normal((2, 6, 3), 1)
    y = numpy(layer(x, training=True))
    assert layer.compute_output_shape((2, 6, 3)) == (2, 6, 3)
    np.testing.assert_array_equal(y.sum(1), 1.0)


def test_serialization_round_trip_as_json():
    layer = GumbelSoftmax(temperature=0.7, hard=True, axis=-2, seed=5, inference="softmax", name="gs")
    config = layer.get_config()
    clone = GumbelSoftmax.from_config(json.loads(json.dumps(config)))
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(revived, GumbelSoftmax) and revived.get_config() == config


def test_keras_file_round_trip_keeps_annealed_temperature(tmp_path):
    model = small_model(GumbelSoftmax(temperature=1.0, seed=3, inference="softmax"))
    model.layers[-1].temperature.assign(0.37)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.layers[-1]
    assert isinstance(layer, GumbelSoftmax)
    assert float(layer.temperature.numpy()) == pytest.approx(0.37)
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_trainable_temperature_is_learned_and_stops_at_min_temperature():
    layer = GumbelSoftmax(temperature=1.0, trainable_temperature=True, min_temperature=0.05, seed=1)
    model = small_model(layer)
    assert [w.name for w in model.trainable_weights].count("temperature") == 1
    # A loss that rewards one-hot outputs pushes the temperature down (with
    # SGD(1.0) past 0 within a few steps); the constraint stops it at
    # min_temperature, exactly.
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=lambda _, y: -keras.ops.mean(keras.ops.max(y, -1)))
    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: seen.append(layer.temperature.numpy()))
    model.fit(x, np.zeros((64,)), epochs=5, verbose=0, callbacks=[record])
    assert seen[0] < 1.0  # learned, downwards
    np.testing.assert_array_equal(seen[-3:], np.float32(0.05))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_training(mixed_policy, policy):
    mixed_policy(policy)
    layer = GumbelSoftmax(temperature=0.5, hard=True, seed=2)
    model = small_model(layer)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
    y = np.eye(4)[np.zeros((32, 3), int)].astype("float32")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    out = layer(keras.ops.cast(tile(10), policy.split("_")[1]), training=True)
    assert dtype_of(out) == policy.split("_")[1]
    assert layer.temperature.dtype == "float32"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": -1.0}, r"temperature must be a finite number > 0, received temperature=-1.0"),
        ({"temperature": 0}, r"received temperature=0"),
        ({"temperature": float("nan")}, r"received temperature=nan"),
        ({"temperature": "hot"}, r"received temperature='hot'"),
        ({"inference": "mode"}, r"inference must be one of .*received inference='mode'"),
        ({"hard": 1}, r"hard must be True or False, received hard=1"),
        ({"axis": 1.5}, r"axis must be an integer, received axis=1.5"),
        ({"axis": True}, r"axis must be an integer, received axis=True"),
        ({"min_temperature": -0.1}, r"min_temperature must be a finite number > 0, received min_temperature=-0.1"),
        ({"seed": "x"}, r"seed must be None or an integer, received seed='x'"),
        ({"trainable_temperature": "yes"}, r"trainable_temperature must be True or False"),
        ({"estimator": "magic"}, r"estimator must be one of"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GumbelSoftmax(**kwargs)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"axis must be an integer in \[-2, 2\) for inputs of rank 2, received axis=3"):
        GumbelSoftmax(axis=3)(tile(2))
    with pytest.raises(TypeError, match="expects floating-point logits, received inputs of dtype int32"):
        GumbelSoftmax()(tensor([[1, 2, 3]], "int32"))


# RelaxedBernoulli -------------------------------------------------------------

BERNOULLI_LOGITS = np.array([-2.0, -0.5, 0.0, 1.0, 3.0], dtype=np.float32)


def bernoulli_tile(n):
    return tensor(np.tile(BERNOULLI_LOGITS, (n, 1)))


@pytest.mark.tensorflow_only
def test_relaxed_bernoulli_samples_are_tfp_samples_for_the_same_seed():
    import tensorflow as tf

    layer = RelaxedBernoulli(temperature=0.6, seed=5)
    x = tf.random.stateless_normal((64, 30), [1, 2]) * 3
    y = layer(x, training=True).numpy()
    # The layer's first draw uses its generator's first seed.
    seed = gumbel_ops.stateless_seed(keras.random.SeedGenerator(5))
    ref = layer.distribution(x).sample(seed=seed).numpy()
    # The same logistic noise: equal up to TFP's sigmoid, which switches to
    # exp(z) below z = -9 (relative error <= exp(-9), absolute < 2e-8).
    np.testing.assert_allclose(y, ref, rtol=2e-6, atol=2e-8)
    np.testing.assert_array_equal(y > 0.5, ref > 0.5)


@pytest.mark.parametrize("hard", [False, True])
def test_relaxed_bernoulli_distribution_scores_the_layer_samples(hard):
    layer = RelaxedBernoulli(temperature=0.6, hard=hard, seed=5)
    x = normal((64, 7), 3) * 2
    y = layer(x, training=True)
    dist = layer.distribution(x)
    assert isinstance(dist, distribution_types("Bernoulli" if hard else "RelaxedBernoulli"))
    log_prob = numpy(dist.log_prob(y))
    if hard:
        expected = gumbel_ops.bernoulli_log_prob(x, y)
    else:
        expected = gumbel_ops.relaxed_bernoulli_log_prob(x, 0.6, y)
    finite = np.isfinite(numpy(expected))
    assert finite.mean() > 0.9
    np.testing.assert_allclose(log_prob[finite], numpy(expected)[finite], rtol=1e-5, atol=1e-5)
    draws = numpy(dist.sample((2,), seed=1))
    assert draws.shape == (2, 64, 7)
    assert set(np.unique(draws)) <= {0.0, 1.0} if hard else ((draws >= 0) & (draws <= 1)).all()


def test_relaxed_bernoulli_hard_is_exact_binary_with_sigmoid_frequencies():
    n = 20_000
    y = numpy(RelaxedBernoulli(temperature=0.5, hard=True, seed=2)(bernoulli_tile(n), training=True))
    assert set(np.unique(y)) == {0.0, 1.0}
    p = 1 / (1 + np.exp(-BERNOULLI_LOGITS.astype(np.float64)))
    for k in range(len(p)):
        ones = y[:, k].sum()
        assert_frequencies([n - ones, ones], [1 - p[k], p[k]])


def test_relaxed_bernoulli_gradients_hard_is_straight_through_of_relaxed():
    x = normal((256, 9), 3)
    w = normal((256, 9), 4)
    seed, tau = tensor([5, 6], "int32"), 0.7

    def loss(hard):
        return lambda x: keras.ops.sum(w * gumbel_ops.relaxed_bernoulli(x, tau, hard=hard, seed=seed))

    soft = numpy(gumbel_ops.relaxed_bernoulli(x, tau, seed=seed))
    hard = numpy(gumbel_ops.relaxed_bernoulli(x, tau, hard=True, seed=seed))
    np.testing.assert_array_equal(hard, (soft > 0.5).astype("float32"))
    _, (grad,) = value_and_grad(loss(False), x)
    _, (hard_grad,) = value_and_grad(loss(True), x)
    np.testing.assert_array_equal(hard_grad, grad)
    # d sigmoid((x + L) / tau) / dx = y (1 - y) / tau.
    np.testing.assert_allclose(grad, numpy(w) * soft * (1 - soft) / tau, rtol=1e-4, atol=1e-7)


def test_relaxed_bernoulli_inference_modes():
    x = bernoulli_tile(3)
    expected = np.tile((BERNOULLI_LOGITS > 0).astype(np.float32), (3, 1))
    np.testing.assert_array_equal(numpy(RelaxedBernoulli()(x)), expected)
    np.testing.assert_array_equal(numpy(RelaxedBernoulli()(x, training=False)), expected)
    np.testing.assert_allclose(
        numpy(RelaxedBernoulli(temperature=2.0, inference="softmax")(x)),
        1 / (1 + np.exp(-np.tile(BERNOULLI_LOGITS, (3, 1)) / 2)),
        atol=1e-6,
    )
    sampler = RelaxedBernoulli(inference="sample", seed=3)
    a, b = numpy(sampler(x)), numpy(sampler(x))
    assert not np.array_equal(a, b) and ((a > 0) & (a < 1)).all()


def test_relaxed_bernoulli_infinite_logits_low_precision_and_trainable_temperature():
    x = tensor([[-np.inf, np.inf, 0.0, 80.0, -80.0]] * 4)
    tau = keras.Variable(0.5, trainable=True)
    weights = tensor(np.arange(5), "float32")
    for hard in (False, True):
        _, (grad_x, grad_tau) = value_and_grad(
            lambda x, t: keras.ops.sum(gumbel_ops.relaxed_bernoulli(x, t, hard=hard, seed=1) * weights),
            x,
            tau,
        )
        y = numpy(gumbel_ops.relaxed_bernoulli(x, tau, hard=hard, seed=1))
        np.testing.assert_array_equal(y[:, :2], [[0.0, 1.0]] * 4)
        assert np.isfinite(grad_x).all() and np.isfinite(grad_tau)
    for dtype in ("float16", "bfloat16"):
        x = keras.ops.cast(bernoulli_tile(100) * 50, dtype)
        _, (grad,) = value_and_grad(
            lambda x: keras.ops.sum(gumbel_ops.relaxed_bernoulli(x, 0.1, hard=True, seed=4)), x
        )
        y = gumbel_ops.relaxed_bernoulli(x, 0.1, hard=True, seed=4)
        assert dtype_of(y) == dtype and grad.dtype == dtype
        assert set(np.unique(numpy(keras.ops.cast(y, "float32")))) <= {0.0, 1.0}
        assert np.isfinite(grad.astype(np.float32)).all()


def test_relaxed_bernoulli_serialization_and_keras_file(tmp_path):
    layer = RelaxedBernoulli(temperature=0.7, hard=True, seed=5, inference="softmax", name="rb")
    config = layer.get_config()
    clone = RelaxedBernoulli.from_config(json.loads(json.dumps(config)))
    assert json.dumps(clone.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    inputs = keras.Input((8,))
    model = keras.Model(inputs, layer(keras.layers.Dense(6)(inputs)))
    assert find_temperature_layers(model) == [layer]
    layer.temperature.assign(0.37)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    revived = loaded.get_layer("rb")
    assert isinstance(revived, RelaxedBernoulli) and revived.get_config() == config
    assert float(revived.temperature.numpy()) == pytest.approx(0.37)
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_relaxed_bernoulli_compiled_fit_with_trainable_temperature(mixed_policy, policy):
    mixed_policy(policy)
    layer = RelaxedBernoulli(temperature=1.0, hard=True, trainable_temperature=True, seed=1)
    inputs = keras.Input((8,))
    # Seeded initializers: with unseeded ones the weights depend on what
    # earlier tests drew, and under mixed_float16 some draws make the loss
    # scaler skip this single step (an overflowed scaled gradient).
    dense = [keras.layers.Dense(n, kernel_initializer=keras.initializers.GlorotUniform(seed=n)) for n in (6, 1)]
    model = keras.Model(inputs, dense[1](layer(dense[0](inputs))))
    assert [w.name for w in model.trainable_weights].count("temperature") == 1
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 8)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    # One SGD step: the temperature moves by -0.1 * dloss/dtemperature, the
    # gradient taken here on the same batch and the same noise.
    state = layer.seed_generator.state.numpy()
    _, (grad,) = value_and_grad(
        lambda _: keras.ops.mean(keras.losses.mean_squared_error(y, model(x, training=True))),
        layer.temperature,
    )
    grad = float(grad)
    layer.seed_generator.state.assign(state)
    assert abs(grad) > 1e-3  # a step that moves the temperature
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # float32: up to the rounding of the variable (the step is 0.1 * grad
    # on 1.0); float16: up to the rounding of the half-precision layers.
    rtol = 1e-4 if policy == "float32" else 2e-3
    step = (1.0 - float(layer.temperature.numpy())) / 0.1
    np.testing.assert_allclose(step, grad, rtol=rtol)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": 0}, r"temperature must be a finite number > 0, received temperature=0"),
        ({"hard": 1}, r"hard must be True or False, received hard=1"),
        ({"inference": "mode"}, r"inference must be one of .*received inference='mode'"),
        ({"seed": 1.5}, r"seed must be None or an integer, received seed=1.5"),
        ({"trainable_temperature": 1}, r"trainable_temperature must be True or False"),
    ],
)
def test_relaxed_bernoulli_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RelaxedBernoulli(**kwargs)


def test_relaxed_bernoulli_bad_inputs_are_refused():
    with pytest.raises(TypeError, match="expects floating-point logits, received inputs of dtype int32"):
        RelaxedBernoulli()(tensor([[1, 2]], "int32"))
    with pytest.raises(TypeError, match="logits must be a floating-point tensor"):
        gumbel_ops.relaxed_bernoulli(tensor([1, 2], "int32"))
    with pytest.raises(ValueError, match="hard must be True or False, received hard='no'"):
        gumbel_ops.relaxed_bernoulli(tensor(np.zeros(2)), hard="no")


# Seeds ------------------------------------------------------------------------

SEEDS = [0, 1, 7, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 1, 2**62, 2**63 - 1, -1, -(2**31), -(2**63)]


@pytest.mark.backends("jax", "torch")  # TensorFlow's: tests/test_reliability.py (issue 15)
@pytest.mark.parametrize("cls", [GumbelSoftmax, RelaxedBernoulli])
def test_every_64_bit_seed_gives_its_own_stream_and_a_layer_starts_at_the_op(cls):
    # Keras' SeedGenerator holds only 32-bit seeds on JAX and PyTorch; the
    # layers take every signed 64-bit seed there too.
    x = normal((16, 5), 0)
    op = gumbel_ops.gumbel_softmax if cls is GumbelSoftmax else gumbel_ops.relaxed_bernoulli
    draws = {}
    for seed in SEEDS:
        layer = cls(temperature=1.0, seed=seed)
        for call in range(2):
            draws[(seed, call)] = numpy(layer(x, training=True))
        np.testing.assert_array_equal(draws[(seed, 0)], numpy(op(x, 1.0, seed=seed)), err_msg=f"seed={seed}")
        np.testing.assert_array_equal(draws[(seed, 0)], numpy(cls(temperature=1.0, seed=seed)(x, training=True)))
    values = list(draws.values())
    for i in range(len(values)):
        for j in range(i):
            assert not np.array_equal(values[i], values[j]), (list(draws)[i], list(draws)[j])
    with pytest.raises(ValueError, match=r"seed must be .*received seed=9223372036854775808"):
        op(x, 1.0, seed=2**63)


# Export with a symbolic batch (JAX) -------------------------------------------


def sampling_model():
    inputs = keras.Input((6,))
    soft = GumbelSoftmax(temperature=0.5, inference="sample", seed=1)(keras.layers.Reshape((2, 3))(inputs))
    bits = RelaxedBernoulli(temperature=0.5, inference="sample", seed=2)(inputs)
    return keras.Model(inputs, [soft, bits])


@pytest.mark.backends("jax")
def test_jax_uniform_takes_a_symbolic_batch_and_draws_the_same_numbers():
    # Keras' export traces the model with a symbolic batch dimension;
    # _random.jax_uniform took int() of it (InconclusiveDimensionOperation).
    import jax
    import jax.numpy as jnp

    from keras_gumbel import _random

    tiny = np.finfo(np.float32).tiny

    def draw(key, x):
        return _random.jax_uniform(x.shape, key, "float32", tiny)

    key = jnp.array([3, 4], jnp.uint32)
    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("batch, 5"), jnp.float32)
    exported = jax.export.export(jax.jit(draw))(jax.ShapeDtypeStruct((2,), jnp.uint32), spec)
    for batch in (1, 3, 4):  # odd and even counts of numbers
        x = jnp.zeros((batch, 5), jnp.float32)
        np.testing.assert_array_equal(exported.call(key, x), draw(key, x))


@pytest.mark.backends("jax")
def test_a_sampling_model_exports_with_a_symbolic_batch_on_jax(tmp_path):
    import jax
    import jax.numpy as jnp

    model = sampling_model()
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    model(x)
    # The layers' forward pass, stateless, over a symbolic batch (what
    # Keras' export does through jax2tf).
    variables = [v.value for v in model.variables]

    def forward(values, x):
        with keras.StatelessScope(state_mapping=list(zip(model.variables, values))):
            return model(x)

    spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape("batch, 6"), jnp.float32)
    exported = jax.export.export(jax.jit(forward))([jax.ShapeDtypeStruct(v.shape, v.dtype) for v in variables], spec)
    for batch in (2, 5):
        soft, bits = exported.call(variables, x[:batch])
        assert soft.shape == (batch, 2, 3) and bits.shape == (batch, 6)
        np.testing.assert_allclose(np.asarray(soft).sum(-1), 1.0, atol=1e-6)
        assert ((np.asarray(bits) > 0) & (np.asarray(bits) < 1)).all()
    # Keras' own export (a TensorFlow SavedModel through jax2tf), where
    # TensorFlow is installed beside JAX.
    tf = pytest.importorskip("tensorflow")
    path = str(tmp_path / "exported")
    model.export(path, format="tf_saved_model", verbose=False)
    served = tf.saved_model.load(path)
    soft, bits = served.serve(tf.constant(x[:3]))
    assert tuple(soft.shape) == (3, 2, 3) and tuple(bits.shape) == (3, 6)
    np.testing.assert_allclose(soft.numpy().sum(-1), 1.0, atol=1e-6)
