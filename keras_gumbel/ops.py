"""Gumbel-max and Gumbel-softmax maths: the one place the formulas live.

Every function here is pure: randomness comes only from the ``seed`` argument,
which may be a ``keras.random.SeedGenerator`` (the usual case inside a layer),
a Python integer, a stateless seed tensor of shape ``[2]``, or ``None``
(non-deterministic, drawn from TensorFlow's global generator, which
``tf.random.set_seed`` makes reproducible).

References:
  - E. Jang, S. Gu, B. Poole. Categorical Reparameterization with
    Gumbel-Softmax. ICLR 2017. https://arxiv.org/abs/1611.01144
  - C. J. Maddison, A. Mnih, Y. W. Teh. The Concrete Distribution: A
    Continuous Relaxation of Discrete Random Variables. ICLR 2017.
    https://arxiv.org/abs/1611.00712
"""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from tensorflow.python.ops import control_flow_util

__all__ = [
    "ESTIMATORS",
    "gumbel_max",
    "gumbel_softmax",
    "one_hot_argmax",
    "sample_gumbel",
    "stateless_seed",
    "validate_temperature",
]

# The estimators `gumbel_softmax` knows; all but "relaxed" output exact one-hots.
ESTIMATORS = ("relaxed", "straight_through")

_LOW_PRECISION = ("float16", "bfloat16")


def validate_temperature(value, name="temperature"):
    """Returns `value` as a float, or raises if it is not a finite number > 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            f"{name} must be a finite number > 0, received {name}={value!r}"
        )
    return float(value)


def _float_dtype(x, name):
    dtype = keras.backend.standardize_dtype(x.dtype)
    if "float" not in dtype:
        raise TypeError(
            f"{name} must be a floating-point tensor (float16, bfloat16, "
            f"float32 or float64), received {name} of dtype {dtype}"
        )
    return dtype


def _compute_dtype(dtype):
    # Gumbel noise spans about [-4.5, 16] and the softmax exponentiates
    # differences: half precision loses too much, so work in float32 at least.
    return "float32" if dtype in _LOW_PRECISION else dtype


def _check_axis(logits, axis):
    rank = len(logits.shape)
    if not isinstance(axis, numbers.Integral) or not -rank <= axis < rank:
        raise ValueError(
            f"axis must be an integer in [{-rank}, {rank}) for logits of "
            f"rank {rank}, received axis={axis!r}"
        )
    if logits.shape[axis] is None:
        raise ValueError(
            f"the number of categories (logits.shape[{axis}]) must be known, "
            f"received logits of shape {tuple(logits.shape)}"
        )
    return int(axis) % rank


def _in_xla_context():
    return control_flow_util.GraphOrParentsInXlaContext(
        tf.compat.v1.get_default_graph()
    )


def stateless_seed(seed):
    """Turns any accepted `seed` into a stateless seed: an int32 tensor `[2]`.

    A `keras.random.SeedGenerator` advances its state, so successive calls
    draw new noise; the same initial seed replays the same sequence.
    """
    if isinstance(seed, keras.random.SeedGenerator):
        seed = seed.next()
    elif seed is None:
        return tf.random.uniform([2], maxval=tf.int32.max, dtype=tf.int32)
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        seed = [int(seed), 0]
    elif not tf.is_tensor(seed) and not isinstance(seed, (list, tuple, np.ndarray)):
        raise ValueError(
            "seed must be None, an integer, a keras.random.SeedGenerator or "
            f"a stateless seed of shape [2], received seed={seed!r}"
        )
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank != 1 or seed.shape[0] != 2 or not seed.dtype.is_integer:
        raise ValueError(
            "a stateless seed must be an integer tensor of shape [2], received "
            f"seed of dtype {seed.dtype.name} and shape {seed.shape}"
        )
    if seed.dtype != tf.int32:
        # XLA wants int32 seeds; SeedGenerator keeps an int64 state.
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max), tf.int32)
    return seed


def _uniform(shape, seed, dtype):
    """Uniform noise on [tiny, 1): log(0) can never happen.

    The random algorithm is chosen by context. Outside XLA it is Philox, the
    generator TFP and Keras use, so a stateless seed reproduces TFP's samples
    exactly. Inside an XLA cluster "auto_select" and Philox compile to a
    generator about 100x slower on CPU, whereas Threefry is fast there (and is
    not implemented outside XLA).
    """
    alg = "threefry" if _in_xla_context() else "philox"
    dtype = keras.backend.standardize_dtype(dtype)
    return tf.random.stateless_uniform(
        shape,
        seed=stateless_seed(seed),
        minval=np.finfo(dtype).tiny,
        maxval=1.0,
        dtype=dtype,
        alg=alg,
    )


def _gumbel(shape, seed, dtype):
    return -ops.log(-ops.log(_uniform(shape, seed, dtype)))


def sample_gumbel(shape, seed=None, dtype="float32"):
    """Standard Gumbel noise `g = -log(-log(u))`, `u ~ Uniform[tiny, 1)`.

    Args:
        shape: the shape of the sample.
        seed: `None`, an integer, a `keras.random.SeedGenerator` or a
            stateless seed tensor of shape `[2]`.
        dtype: a floating-point dtype; half precisions are drawn in float32
            and cast, so the result is always finite.

    Returns:
        A tensor of `shape` and `dtype`.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if "float" not in dtype:
        raise TypeError(
            f"dtype must be a floating-point dtype, received dtype={dtype}"
        )
    return ops.cast(_gumbel(shape, seed, _compute_dtype(dtype)), dtype)


def one_hot_argmax(x, axis=-1):
    """The exact one-hot of `argmax(x)` along `axis`: one 1 per row, ties
    going to the first maximum, in the dtype of `x`."""
    axis = _check_axis(x, axis)
    depth = x.shape[axis]
    return ops.one_hot(ops.argmax(x, axis=axis), depth, axis=axis, dtype=x.dtype)


def _straight_through(hard, soft):
    # `soft - stop_gradient(soft)` is exactly 0 in the forward pass, so the
    # output is exactly `hard`, while the gradient is the relaxed sample's.
    # (`hard - sg(soft) + soft` would round away from an exact one-hot.)
    return hard + (soft - ops.stop_gradient(soft))


def resolve_estimator(estimator, hard):
    """The estimator named by the (`estimator`, `hard`) pair, checked."""
    if not isinstance(hard, bool):
        raise ValueError(f"hard must be True or False, received hard={hard!r}")
    if estimator is None:
        return "straight_through" if hard else "relaxed"
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS}, received "
            f"estimator={estimator!r}"
        )
    if hard and estimator == "relaxed":
        raise ValueError(
            "hard=True asks for exact one-hot samples, which the 'relaxed' "
            "estimator does not give; received hard=True, estimator='relaxed'"
        )
    return estimator


def gumbel_softmax(
    logits, temperature=1.0, hard=False, axis=-1, seed=None, estimator=None
):
    """A Gumbel-softmax (Concrete) sample of `logits`.

    `y = softmax((logits + g) / temperature)` with `g` standard Gumbel noise:
    a draw of `RelaxedOneHotCategorical(temperature, logits)`. As the
    temperature goes to 0 the sample approaches the one-hot of
    `argmax(logits + g)`, an exact categorical sample with probabilities
    `softmax(logits)` (the Gumbel-max trick); as it grows, the uniform vector.

    With `hard=True` (the straight-through Gumbel-softmax estimator of Jang et
    al. 2017), the forward value is the exact one-hot `D = one_hot(argmax(y))`
    and the gradient is the relaxed sample's: `D + y - stop_gradient(y)`.

    `-inf` logits mark impossible categories: they are never sampled and their
    entries, outputs and gradients stay finite for the other categories.

    Args:
        logits: float tensor of unnormalized log-probabilities. float16 and
            bfloat16 are computed in float32 and returned in their own dtype.
        temperature: a finite number > 0, or a scalar tensor or variable
            (read on every call, so an annealed variable is seen by compiled
            functions).
        hard: whether to return exact one-hots with straight-through gradients.
        axis: the categories axis.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]`.
        estimator: the gradient estimator: one of `ESTIMATORS`; `None` means
            `"straight_through"` if `hard` else `"relaxed"`.

    Returns:
        A tensor of the shape and dtype of `logits`.
    """
    logits = ops.convert_to_tensor(logits)
    dtype = _float_dtype(logits, "logits")
    axis = _check_axis(logits, axis)
    estimator = resolve_estimator(estimator, hard)
    if not (tf.is_tensor(temperature) or isinstance(temperature, keras.Variable)):
        validate_temperature(temperature)
    compute = _compute_dtype(dtype)
    x = ops.cast(logits, compute)
    temperature_in, temperature = temperature, ops.cast(temperature, compute)
    noisy = x + _gumbel(ops.shape(x), seed, compute)
    if getattr(temperature_in, "trainable", False):
        # d/dtau of (-inf / tau) is inf * 0 = NaN even where the softmax
        # gradient is 0: divide finite values only (the cheap path is kept
        # for fixed temperatures, whose gradient nobody takes).
        impossible = ops.isneginf(noisy)
        scaled = ops.where(impossible, -np.inf, ops.where(impossible, 0.0, noisy) / temperature)
    else:
        scaled = noisy / temperature
    soft = ops.softmax(scaled, axis=axis)
    if estimator == "relaxed":
        return ops.cast(soft, dtype)
    return ops.cast(_straight_through(one_hot_argmax(soft, axis), soft), dtype)


def gumbel_max(logits, axis=-1, seed=None):
    """An exact categorical sample as a one-hot: `one_hot(argmax(logits + g))`.

    The Gumbel-max trick (Gumbel 1954; Maddison et al. 2014): with `g`
    standard Gumbel noise, `argmax(logits + g)` is distributed as
    `Categorical(softmax(logits))`. It has no useful gradient.

    Args:
        logits: float tensor of unnormalized log-probabilities.
        axis: the categories axis.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]`.

    Returns:
        A one-hot tensor of the shape and dtype of `logits`.
    """
    logits = ops.convert_to_tensor(logits)
    dtype = _float_dtype(logits, "logits")
    axis = _check_axis(logits, axis)
    x = ops.cast(logits, _compute_dtype(dtype))
    noisy = x + _gumbel(ops.shape(x), seed, x.dtype)
    return ops.cast(one_hot_argmax(ops.stop_gradient(noisy), axis), dtype)
