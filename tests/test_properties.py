"""Property-based tests (hypothesis) over the documented input space of the
samplers: `ops.gumbel_softmax` (every estimator and `samples`),
`ops.gumbel_max`, `ops.relaxed_bernoulli` and the `GumbelSoftmax` and
`RelaxedBernoulli` layers.

The space: logits of rank 1-4 with 1-1000 categories on any axis, in
float16, bfloat16, float32 or float64, with values up to +-1e4, ties, and
`-inf` masks that leave at least one finite entry per row, and `+inf`
entries (a certain category, at most one per row); temperatures from
1e-3 to 1e3 (1 to 1e3 for ReinMax) as numbers, tensors or trainable
variables; integer, stateless and `SeedGenerator` seeds. Everywhere: the
output has the logits' shape and dtype (the layer's compute dtype for
layers) and is finite; relaxed outputs lie on the simplex, one-hot ones are
exact one-hots (exactly one 1 per row); masked categories are never sampled
and certain ones always;
gradients are finite; the same seed gives the same output. Out of the
domain, every documented error names the argument.

The examples are derandomized (seeded from each test) and few, so the
file runs in well under a minute (on JAX a quarter of them: see
`BACKEND_SHARE`); to search further, with fresh random examples, run
`KERAS_GUMBEL_HYPOTHESIS=search KERAS_GUMBEL_EXAMPLES=20 pytest tests/test_properties.py`
(20 times the examples). Written with NumPy and `keras.ops` where the
backend does not matter.
"""

import math
import os

import numpy as np
import pytest
from helpers import value_and_grad
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import keras
from keras import ops
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli
from keras_gumbel import ops as G

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "search",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("KERAS_GUMBEL_HYPOTHESIS", "ci"))
SCALE = int(os.environ.get("KERAS_GUMBEL_EXAMPLES", "1"))
# The share of the examples run on a backend. JAX compiles every operation
# anew for each new shape and dtype: about 3 s an example on these 2 cores,
# against 0.03 s on TensorFlow and PyTorch (measured with the whole count,
# 25 minutes of the JAX run's time), so it runs a quarter of them;
# KERAS_GUMBEL_EXAMPLES=4 runs the whole count there too.
BACKEND_SHARE = {"jax": 0.25}


def examples(n):
    share = BACKEND_SHARE.get(keras.backend.backend(), 1.0)
    return settings(max_examples=max(1, round(n * SCALE * share)))


FLOATS = ("float16", "bfloat16", "float32", "float64")
POLICIES = ("float32", "float64", "float16", "bfloat16", "mixed_float16", "mixed_bfloat16")
if keras.backend.backend() == "jax":
    import jax

    if not jax.config.jax_enable_x64:
        # JAX computes float64 as float32 unless x64 is enabled.
        POLICIES = tuple(p for p in POLICIES if p != "float64")
# How far a relaxed sample's sum may be from 1: each entry is rounded to the
# output dtype (relative error <= 2^-p, so the sum's error is <= 2^-p) after
# a softmax computed in float32 at least (K float32 roundings of entries that
# sum to 1).
SUM_TOLERANCE = {"float16": 2**-10, "bfloat16": 2**-7, "float32": 1e-4, "float64": 1e-10}
INT64 = st.integers(-(2**63), 2**63 - 1)


# Strategies -------------------------------------------------------------------


@st.composite
def logits_cases(draw, with_axis=True, max_categories=1000, masks=True):
    """(logits tensor, axis, float64 NumPy logits) in the documented space.

    Rows along the categories axis may hold `-inf` entries (impossible
    categories; at least one entry stays finite) and at most one `+inf`
    (a certain category)."""
    rank = draw(st.integers(1, 4))
    axis = draw(st.integers(-rank, rank - 1)) if with_axis else -1
    categories = draw(st.one_of(st.integers(1, 8), st.integers(9, max_categories)))
    shape = [draw(st.integers(1, 3)) for _ in range(rank)]
    shape[axis] = categories
    dtype = draw(st.sampled_from(FLOATS))
    scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 30.0, 1e4]))
    kind = draw(st.sampled_from(["uniform", "ties", "extremes"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.uniform(-scale, scale, shape)
    if kind == "ties":
        values = np.round(values / max(scale, 1.0) * 2) * max(scale, 1.0) / 2
    elif kind == "extremes":
        values = rng.choice([-1e4, 0.0, 1e4], shape)
    if masks:
        masked = draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
        certain = draw(st.sampled_from([0.0, 0.0, 0.5]))
        moved = np.moveaxis(values, axis, -1).copy()
        flat = moved.reshape(-1, categories)
        keep = rng.integers(categories, size=len(flat))
        flat[rng.random(flat.shape) < masked] = -np.inf
        # One finite entry per row; in some rows it is +inf.
        flat[np.arange(len(flat)), keep] = np.where(
            rng.random(len(flat)) < certain, np.inf, rng.uniform(-scale, scale, len(flat))
        )
        values = np.moveaxis(flat.reshape(moved.shape), -1, axis)
    logits = ops.cast(ops.convert_to_tensor(values, "float64"), dtype)
    return logits, axis % rank, values


def temperatures(low=1e-3, high=1e3):
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: float(10**e))


@st.composite
def temperature_forms(draw, value):
    """The temperature as a Python float, a tensor or a (trainable) variable."""
    form = draw(st.sampled_from(["float", "tensor", "variable", "trainable"]))
    if form == "float":
        return value
    if form == "tensor":
        return ops.convert_to_tensor(value)
    return keras.Variable(value, trainable=form == "trainable")


@st.composite
def seeds(draw):
    """A deterministic seed and a function giving an equal fresh one."""
    kind = draw(st.sampled_from(["int", "stateless", "generator"]))
    if kind == "int":
        value = draw(INT64)
        return lambda: value
    if kind == "stateless":
        pair = [draw(st.integers(-(2**31), 2**31 - 1)) for _ in range(2)]
        return lambda: ops.convert_to_tensor(np.array(pair, np.int32))
    # What Keras' SeedGenerator holds on the backend (uint32 words on JAX,
    # int32 on PyTorch; the layers take every int64 seed: INT64 below).
    low, high = {"jax": (0, 2**32 - 1), "torch": (-(2**31), 2**31 - 1)}.get(
        keras.backend.backend(), (-(2**63), 2**63 - 1)
    )
    value = draw(st.integers(low, high))
    return lambda: keras.random.SeedGenerator(value)


# Checks -----------------------------------------------------------------------


def to_numpy(x):
    dtype = keras.backend.standardize_dtype(x.dtype)
    return ops.convert_to_numpy(ops.cast(x, "float64" if dtype == "float64" else "float32"))


def rows(x, axis):
    x = np.moveaxis(x, axis, -1)
    return x.reshape(-1, x.shape[-1])


def check_sample(y, logits, axis, values, one_hot, dtype=None):
    dtype = dtype or keras.backend.standardize_dtype(logits.dtype)
    assert tuple(y.shape) == tuple(logits.shape)
    assert keras.backend.standardize_dtype(y.dtype) == dtype
    y = to_numpy(y)
    assert np.isfinite(y).all()
    assert (y[values == -np.inf] == 0).all(), "an impossible category was sampled"
    assert (y[values == np.inf] == 1).all(), "a certain category was not sampled"
    r = rows(y, axis)
    if one_hot:
        assert np.isin(r, (0.0, 1.0)).all() and (r.sum(-1) == 1).all(), "not an exact one-hot"
    else:
        assert ((r >= 0) & (r <= 1)).all()
        np.testing.assert_allclose(r.sum(-1), 1.0, atol=SUM_TOLERANCE[dtype])
    return y


def weights_like(x, seed=0):
    w = np.random.default_rng(seed).uniform(-1, 1, tuple(x.shape))
    return ops.cast(ops.convert_to_tensor(w), x.dtype)


def finite_gradients(fn, *sources, seed=None):
    """Asserts the gradients of `fn(*sources)` (a tensor, summed with
    weights) with respect to every source are finite, on any backend."""
    generators = [seed] if isinstance(seed, keras.random.SeedGenerator) else []

    def loss(*args):
        y = fn(*args)
        return ops.sum(ops.cast(y * weights_like(y), "float32"))

    _, grads = value_and_grad(loss, *sources, seed_generators=generators)
    assert_finite_gradients(grads)


def assert_finite_gradients(grads):
    for g in grads:
        if g is not None:
            assert np.isfinite(to_numpy(ops.convert_to_tensor(g))).all(), "gradient not finite"


# ops.gumbel_softmax ----------------------------------------------------------


@st.composite
def estimator_configs(draw):
    estimator = draw(st.sampled_from((None,) + G.ESTIMATORS))
    hard = draw(st.booleans())
    assume(not (hard and estimator == "relaxed"))
    samples = draw(st.integers(1, 4)) if estimator == "gumbel_rao" else 1
    resolved = G.resolve_estimator(estimator, hard)
    low = 1.0 if resolved == "reinmax" else 1e-3
    return estimator, hard, samples, resolved, draw(temperatures(low))


@examples(150)
@given(logits_cases(), estimator_configs(), st.data(), seeds())
def test_gumbel_softmax_properties(case, config, data, seed):
    logits, axis, values = case
    estimator, hard, samples, resolved, value = config
    temperature = data.draw(temperature_forms(value))
    kwargs = dict(hard=hard, axis=axis, estimator=estimator, samples=samples)
    y = G.gumbel_softmax(logits, temperature, seed=seed(), **kwargs)
    first = check_sample(y, logits, axis, values, one_hot=resolved != "relaxed")
    trainable = getattr(temperature, "trainable", False)
    sources = [logits] + ([temperature] if trainable else [])
    fresh = seed()
    finite_gradients(
        lambda x, *t: G.gumbel_softmax(x, t[0] if t else temperature, seed=fresh, **kwargs),
        *sources,
        seed=fresh,
    )
    again = G.gumbel_softmax(logits, temperature, seed=seed(), **kwargs)
    np.testing.assert_array_equal(to_numpy(again), first)


@examples(60)
@given(logits_cases(), seeds())
def test_gumbel_max_properties(case, seed):
    logits, axis, values = case
    y = check_sample(G.gumbel_max(logits, axis=axis, seed=seed()), logits, axis, values, one_hot=True)
    np.testing.assert_array_equal(to_numpy(G.gumbel_max(logits, axis=axis, seed=seed())), y)


# ops.relaxed_bernoulli ---------------------------------------------------------


@st.composite
def bernoulli_cases(draw):
    """Logits of any shape with some entries at +-inf (sure 1s and 0s)."""
    logits, _, values = draw(logits_cases(with_axis=False, max_categories=300, masks=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    infinite = rng.random(values.shape) < draw(st.sampled_from([0.0, 0.2]))
    values = np.where(infinite, rng.choice([-np.inf, np.inf], values.shape), values)
    return ops.cast(ops.convert_to_tensor(values, "float64"), logits.dtype), values


def check_bernoulli(y, logits, values, hard, dtype=None):
    dtype = dtype or keras.backend.standardize_dtype(logits.dtype)
    assert tuple(y.shape) == tuple(logits.shape)
    assert keras.backend.standardize_dtype(y.dtype) == dtype
    y = to_numpy(y)
    assert np.isfinite(y).all() and ((y >= 0) & (y <= 1)).all()
    assert (y[values == -np.inf] == 0).all() and (y[values == np.inf] == 1).all()
    if hard:
        assert np.isin(y, (0.0, 1.0)).all()
    return y


@examples(100)
@given(bernoulli_cases(), st.booleans(), temperatures(), st.data(), seeds())
def test_relaxed_bernoulli_properties(case, hard, value, data, seed):
    logits, values = case
    temperature = data.draw(temperature_forms(value))
    y = G.relaxed_bernoulli(logits, temperature, hard=hard, seed=seed())
    first = check_bernoulli(y, logits, values, hard)
    trainable = getattr(temperature, "trainable", False)
    sources = [logits] + ([temperature] if trainable else [])
    fresh = seed()
    finite_gradients(
        lambda x, *t: G.relaxed_bernoulli(x, t[0] if t else temperature, hard=hard, seed=fresh),
        *sources,
        seed=fresh,
    )
    again = G.relaxed_bernoulli(logits, temperature, hard=hard, seed=seed())
    np.testing.assert_array_equal(to_numpy(again), first)


# The layers -------------------------------------------------------------------


@st.composite
def layer_configs(draw):
    estimator, hard, samples, resolved, temperature = draw(estimator_configs())
    trainable = resolved not in G.NO_TEMPERATURE_GRADIENT and draw(st.booleans())
    config = dict(
        temperature=temperature,
        hard=hard,
        estimator=estimator,
        samples=samples,
        inference=draw(st.sampled_from(("argmax", "softmax", "sample"))),
        trainable_temperature=trainable,
        min_temperature=min(temperature, 1e-2),
        seed=draw(INT64),
        dtype=draw(st.sampled_from(POLICIES)),
    )
    return config, resolved, draw(st.sampled_from([True, False, None]))


def sampling(layer, training):
    return bool(training) or layer.inference == "sample"


@examples(150)
@given(logits_cases(), layer_configs())
def test_gumbel_softmax_layer_properties(case, config):
    logits, axis, values = case
    config, resolved, training = config
    layer = GumbelSoftmax(axis=axis, **config)
    y = layer(logits, training=training)
    if sampling(layer, training):
        one_hot = resolved != "relaxed"
    else:
        one_hot = layer.inference == "argmax"
    first = check_sample(y, logits, axis, values, one_hot, dtype=layer.compute_dtype)
    if not sampling(layer, training) and layer.inference == "argmax":
        # The deterministic mode marks a maximum of the logits as computed
        # (which one among ties is keras.ops.argmax's: -0.0 ranks below 0.0).
        computed = rows(to_numpy(ops.cast(logits, layer.compute_dtype)), axis)
        chosen = computed[np.arange(len(computed)), rows(first, axis).argmax(-1)]
        np.testing.assert_array_equal(chosen, computed.max(-1))
    state = layer.seed_generator.state.numpy()
    finite_gradients(lambda x, *w: layer(x, training=training), logits, *layer.trainable_weights,
                     seed=layer.seed_generator)
    layer.seed_generator.state.assign(state)
    twin = GumbelSoftmax(axis=axis, **config)
    np.testing.assert_array_equal(to_numpy(twin(logits, training=training)), first)


@st.composite
def bernoulli_layer_configs(draw):
    temperature = draw(temperatures())
    config = dict(
        temperature=temperature,
        hard=draw(st.booleans()),
        inference=draw(st.sampled_from(("argmax", "softmax", "sample"))),
        trainable_temperature=draw(st.booleans()),
        min_temperature=min(temperature, 1e-2),
        seed=draw(INT64),
        dtype=draw(st.sampled_from(POLICIES)),
    )
    return config, draw(st.sampled_from([True, False, None]))


@examples(100)
@given(bernoulli_cases(), bernoulli_layer_configs())
def test_relaxed_bernoulli_layer_properties(case, config):
    logits, values = case
    config, training = config
    layer = RelaxedBernoulli(**config)
    y = layer(logits, training=training)
    hard = layer.hard if sampling(layer, training) else layer.inference == "argmax"
    first = check_bernoulli(y, logits, values, hard, dtype=layer.compute_dtype)
    finite_gradients(lambda x, *w: layer(x, training=training), logits, *layer.trainable_weights,
                     seed=layer.seed_generator)
    twin = RelaxedBernoulli(**config)
    np.testing.assert_array_equal(to_numpy(twin(logits, training=training)), first)


# Out of the domain: every documented error names its argument -----------------

NOT_BOOL = st.sampled_from([0, 1, None, "yes", 1.0, np.bool_(True)])
NOT_INT = st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none(), st.booleans())
BAD_NUMBER = st.one_of(
    st.floats(max_value=0.0),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), True, False, None, "1", [1.0]]),
)
BAD_SEED = st.one_of(
    st.floats(),
    st.text(max_size=3),
    st.booleans(),
    st.integers(min_value=2**63, max_value=2**80),
    st.integers(max_value=-(2**63) - 1, min_value=-(2**80)),
    st.sampled_from([[1, 2, 3], [1.0, 2.0], [[1, 2]], ()]),
)
X = ops.convert_to_tensor(np.log([[0.1, 0.2, 0.7]] * 2).astype("float32"))


# argument -> (the name the error must show, the error, bad values, the call)
OP_ARGUMENTS = {
    "temperature": ("temperature", ValueError, BAD_NUMBER, lambda v: G.gumbel_softmax(X, v, seed=1)),
    "temperature tensor": (
        "temperature",
        ValueError,
        st.sampled_from([0.0, -1e-3, -5.0, float("nan"), float("inf")]),
        lambda v: G.gumbel_softmax(X, ops.convert_to_tensor(v), seed=1),
    ),
    "bernoulli temperature": ("temperature", ValueError, BAD_NUMBER, lambda v: G.relaxed_bernoulli(X, v, seed=1)),
    "axis": (
        "axis",
        ValueError,
        st.one_of(st.integers(2, 100), st.integers(-100, -3), NOT_INT),
        lambda v: G.gumbel_softmax(X, 1.0, axis=v, seed=1),
    ),
    "gumbel_max axis": (
        "axis",
        ValueError,
        st.one_of(st.integers(2, 100), st.integers(-100, -3)),
        lambda v: G.gumbel_max(X, axis=v, seed=1),
    ),
    "empty category axis": (
        "axis",
        ValueError,
        st.tuples(st.integers(1, 3), st.integers(1, 3)),
        lambda v: G.gumbel_softmax(ops.zeros(v + (0,)), 1.0, seed=1),
    ),
    "hard": ("hard", ValueError, NOT_BOOL, lambda v: G.gumbel_softmax(X, 1.0, hard=v, seed=1)),
    "bernoulli hard": ("hard", ValueError, NOT_BOOL, lambda v: G.relaxed_bernoulli(X, 1.0, hard=v, seed=1)),
    "estimator": (
        "estimator",
        ValueError,
        st.one_of(st.text(max_size=8).filter(lambda s: s not in G.ESTIMATORS), st.integers()),
        lambda v: G.gumbel_softmax(X, 1.0, estimator=v, seed=1),
    ),
    "samples": (
        "samples",
        ValueError,
        st.one_of(st.integers(max_value=0), NOT_INT),
        lambda v: G.gumbel_softmax(X, 1.0, estimator="gumbel_rao", samples=v, seed=1),
    ),
    "samples without gumbel_rao": (
        "samples",
        ValueError,
        st.integers(2, 50),
        lambda v: G.gumbel_softmax(X, 1.0, hard=True, samples=v, seed=1),
    ),
    "seed": ("seed", ValueError, BAD_SEED, lambda v: G.gumbel_softmax(X, 1.0, seed=v)),
    "gumbel_max seed": ("seed", ValueError, BAD_SEED, lambda v: G.gumbel_max(X, seed=v)),
    "logits": (
        "logits",
        TypeError,
        st.sampled_from(["int32", "int64", "bool", "uint8"]),
        lambda v: G.gumbel_softmax(ops.cast(X, v), 1.0, seed=1),
    ),
}


@examples(6)
@pytest.mark.parametrize("argument", sorted(OP_ARGUMENTS))
@given(data=st.data())
def test_ops_refuse_bad_arguments_by_name(argument, data):
    name, error, strategy, call = OP_ARGUMENTS[argument]
    value = data.draw(strategy)
    with pytest.raises(error, match=rf"\b{name}\b"):
        call(value)


LAYER_ARGUMENTS = {
    "temperature": BAD_NUMBER,
    "min_temperature": BAD_NUMBER,
    "hard": NOT_BOOL,
    "inference": st.one_of(st.text(max_size=8).filter(lambda s: s not in ("argmax", "softmax", "sample")), st.none()),
    "trainable_temperature": NOT_BOOL,
    "seed": BAD_SEED.filter(lambda v: not isinstance(v, list)),
    "axis": NOT_INT,
    "estimator": st.text(max_size=8).filter(lambda s: s not in G.ESTIMATORS),
    "samples": st.one_of(st.integers(max_value=0), NOT_INT),
}


GUMBEL_SOFTMAX_ONLY = ("axis", "estimator", "samples")


@examples(6)
@pytest.mark.parametrize(
    "cls, argument",
    [(GumbelSoftmax, a) for a in sorted(LAYER_ARGUMENTS)]
    + [(RelaxedBernoulli, a) for a in sorted(LAYER_ARGUMENTS) if a not in GUMBEL_SOFTMAX_ONLY],
)
@given(data=st.data())
def test_layers_refuse_bad_arguments_by_name(cls, argument, data):
    value = data.draw(LAYER_ARGUMENTS[argument])
    kwargs = {argument: value}
    if argument == "samples":
        kwargs["estimator"] = "gumbel_rao"
    with pytest.raises(ValueError, match=rf"\b{argument}\b"):
        cls(**kwargs)


@examples(6)
@pytest.mark.parametrize("cls", [GumbelSoftmax, RelaxedBernoulli])
@given(dtype=st.sampled_from(["int32", "int64", "bool", "uint8"]))
def test_layers_refuse_non_float_inputs(cls, dtype):
    inputs = ops.cast(X, dtype)
    # The message names the dtype the layer received: JAX without x64 holds
    # an int64 cast as int32.
    received = keras.backend.standardize_dtype(inputs.dtype)
    with pytest.raises(TypeError, match=rf"floating-point.*{received}"):
        cls(seed=1)(inputs)
