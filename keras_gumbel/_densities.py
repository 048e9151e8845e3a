"""Log-densities of the distributions the samplers draw, on every backend.

Private: the functions are re-exported by `keras_gumbel.ops`, where they
are documented for users; this module holds their maths only. Written with
`keras.ops`, so the same code runs on TensorFlow, JAX and PyTorch, with the
samplers' dtype rules: float logits (float16 and bfloat16 computed in float32,
the result in the logits' dtype), a temperature checked by
`ops.check_temperature`.

- `relaxed_one_hot_log_prob`: the Concrete (relaxed one-hot categorical)
  density of `gumbel_softmax(..., estimator="relaxed")` samples.
- `relaxed_bernoulli_log_prob`: the binary Concrete density of
  `relaxed_bernoulli` samples.
- `categorical_log_prob`: the log-probability of an exact categorical
  sample (the one-hots of `gumbel_max` and of the hard estimators), given
  as a one-hot or an index.
- `bernoulli_log_prob`: that of an exact 0/1 sample (`relaxed_bernoulli`
  with `hard=True`).

Where the formulas are undefined the rules are those of the samplers, and
one more for points at the edge of the support:

- A row of logits with a NaN, or with every logit `-inf`, defines no
  distribution: NaN. A NaN in the point scored: NaN.
- A `-inf` logit removes its category (its entry must be 0) and a `+inf`
  logit removes every finite one of its row (the `+inf` categories share
  the mass equally, as in the samplers): the density is that of the
  remaining `k` categories, with respect to the Lebesgue measure of the
  face of the simplex they span. With `k = 1` (one category, or one `+inf`)
  the distribution is the point mass at that category's one-hot: log-density
  0 there (TFP's value for one category).
- On the edge of the support (an entry exactly 0 among the remaining
  categories, where float32 samples land when a small entry underflows; for
  the binary Concrete, the points 0 and 1) the density has a limit, which is
  returned: `+inf` or `-inf` for most temperatures, finite at the one
  temperature where the two sides balance (for the binary Concrete, τ = 1:
  TFP's `RelaxedBernoulli` returns the same limits).
- A point off the closed support (a negative entry, a positive entry of an
  impossible category, no positive entry at all; for the binary Concrete a
  value outside [0, 1]; for the exact distributions anything but a one-hot
  or a 0/1 value): `-inf`. The entries' sum is not checked (a float32
  sample sums to 1 only up to rounding).

References:
  - C. J. Maddison, A. Mnih, Y. W. Teh. The Concrete Distribution: A
    Continuous Relaxation of Discrete Random Variables. ICLR 2017.
    https://arxiv.org/abs/1611.00712 (the densities: section 3.2 and
    appendix B).
  - E. Jang, S. Gu, B. Poole. Categorical Reparameterization with
    Gumbel-Softmax. ICLR 2017. https://arxiv.org/abs/1611.01144
"""

import math

import keras
import numpy as np
from keras import ops

# `keras_gumbel.ops` imports this module at its end, once its helpers exist.
from keras_gumbel import ops as gumbel_ops

__all__ = [
    "bernoulli_log_prob",
    "categorical_log_prob",
    "relaxed_bernoulli_log_prob",
    "relaxed_one_hot_log_prob",
]


def _logits(logits):
    """`logits` as a tensor in its compute dtype, and its own dtype."""
    logits = ops.convert_to_tensor(logits)
    dtype = gumbel_ops._float_dtype(logits, "logits")
    return ops.cast(logits, gumbel_ops._compute_dtype(dtype)), dtype


def _categories(theta, x, axis):
    """The categories axis checked: `(axis, end, n)`, with `end` the same
    axis counted from the end (`x` may have more leading dimensions than
    the logits, e.g. sample dimensions) and `n` the number of categories."""
    axis = gumbel_ops._check_axis(theta, axis)
    end = axis - len(theta.shape)
    n = theta.shape[axis]
    shape = tuple(x.shape)
    if len(shape) < -end or shape[end] not in (n, None):
        raise ValueError(
            f"x must hold the {n} categories of logits on its axis {end} (the "
            f"logits' axis={axis}), received x of shape {shape} for logits of "
            f"shape {tuple(theta.shape)}"
        )
    return axis, end, n


def _xlogy(a, b):
    """`a * log(b)`, 0 where `a == 0` (also at `b == 0`)."""
    return ops.where(a == 0, 0.0, a * ops.log(b))


def _xlog1py(a, b):
    """`a * log1p(b)`, 0 where `a == 0` (also at `b == -1`)."""
    return ops.where(a == 0, 0.0, a * ops.log1p(b))


def relaxed_one_hot_log_prob(logits, temperature, x, axis=-1):
    """The log-density of the relaxed one-hot categorical (Concrete) at `x`.

    The density of `y = softmax((logits + g) / τ)` (Maddison et al. 2017,
    eq. 12; Jang et al. 2017, eq. 2) with n categories, on the simplex:

        log p(x) = log((n-1)!) + (n-1) log τ + Σ_i (θ_i - (τ+1) log x_i)
                   - n logsumexp_i(θ_i - τ log x_i)

    computed, as TFP's `RelaxedOneHotCategorical.log_prob`, as
    `log((n-1)!) + (n-1) log τ + Σ_i log_softmax(θ - τ log x)_i - Σ_i log x_i`
    (to float32 rounding the same value).

    The points where the formula is undefined follow the rules of
    `keras_gumbel.ops`:

    - NaN in a row of logits, every logit of a row `-inf`, or NaN in `x`:
      NaN.
    - `-inf` logits remove their categories (their entries must be 0);
      `+inf` logits leave only the `+inf` categories, with equal logits.
      The density is then the Concrete density of the k remaining
      categories (k in place of n above), on the face of the simplex they
      span; with k = 1 (one category, or one `+inf` logit) the distribution
      is the point mass at the one-hot: 0 there.
    - An entry exactly 0 among the remaining categories (the simplex's edge,
      where float32 samples land when small entries underflow): the
      density's limit there. With m such entries the log-density goes as
      `(k τ - (τ+1) m) log ε`: `-inf` if `k τ > (τ+1) m`, `+inf` if
      `k τ < (τ+1) m`; at equality, for m = 1, the finite limit
      `log((k-1)!) + (k-1) log τ + Σ_{j: x_j > 0} (θ_j - (τ+1) log x_j)
      - (k-1) θ_i` (i the zero entry), and NaN for m > 1 (the limit depends
      on the direction). With n = 2 these are the limits of
      `relaxed_bernoulli_log_prob`, which TFP returns too.
    - Off the closed simplex (a negative entry, a positive entry of an
      impossible category, or no positive entry): `-inf`. The sum of `x` is
      not checked (a float32 sample sums to 1 only up to rounding).

    Args:
        logits: float tensor of unnormalized log-probabilities θ.
        temperature: τ, a finite number >= `MIN_TEMPERATURE`, or a scalar
            tensor or variable (see `check_temperature`).
        x: the point, of the shape of `logits` (or one that broadcasts
            against it, e.g. with leading sample dimensions).
        axis: the categories axis of `logits` (the same axis of `x`, counted
            from the end).

    Returns:
        The log-density, of the broadcast shape of `logits` and `x` without
        `axis`, in the dtype of `logits`.
    """
    theta, dtype = _logits(logits)
    compute = theta.dtype
    x = ops.cast(ops.convert_to_tensor(x), compute)
    axis, end, n = _categories(theta, x, axis)
    tau = ops.cast(gumbel_ops.check_temperature(temperature), compute)
    undefined = gumbel_ops._undefined_rows(theta, axis, keepdims=False)
    theta = gumbel_ops._without_certain(theta, axis)
    possible = ops.isfinite(theta)
    positive = ops.logical_and(possible, x > 0)
    zero = ops.logical_and(possible, x == 0)
    off = ops.logical_or(
        ops.logical_and(possible, x < 0), ops.logical_and(ops.logical_not(possible), x != 0)
    )
    # Where an entry takes no part (impossible, zero, off the support) it
    # is read as 1 (log 0): finite values, whose branches `where` drops.
    log_x = ops.log(ops.where(positive, x, 1.0))
    k = ops.sum(ops.cast(possible, "int32"), axis=end)
    table = ops.convert_to_tensor(np.array([math.lgamma(i) for i in range(1, n + 1)]), compute)
    k_float = ops.cast(k, compute)
    log_norm = ops.take(table, ops.maximum(k - 1, 0)) + (k_float - 1.0) * ops.log(tau)
    v = ops.where(possible, theta - log_x * tau, -np.inf)
    log_softmax = ops.where(possible, ops.log_softmax(v, axis=end), 0.0)
    interior = (log_norm + ops.sum(log_softmax, axis=end)) - ops.sum(log_x, axis=end)
    # The simplex's edge: m zero entries, the density's limit.
    m = ops.sum(ops.cast(zero, compute), axis=end)
    slope = k_float * tau - (tau + 1.0) * m
    finite_theta = ops.where(possible, theta, 0.0)
    balanced = (
        log_norm
        + ops.sum(ops.where(positive, finite_theta - (tau + 1.0) * log_x, 0.0), axis=end)
        - (k_float - 1.0) * ops.sum(ops.where(zero, finite_theta, 0.0), axis=end)
    )
    edge = ops.where(
        slope > 0, -np.inf, ops.where(slope < 0, np.inf, ops.where(m == 1, balanced, np.nan))
    )
    value = ops.where(m > 0, edge, interior)
    outside = ops.logical_or(ops.any(off, axis=end), m == k_float)
    value = ops.where(outside, -np.inf, value)
    nan = ops.logical_or(undefined, ops.any(ops.isnan(x), axis=end))
    return ops.cast(gumbel_ops._nan_where(nan, value), dtype)


def relaxed_bernoulli_log_prob(logits, temperature, x):
    """The log-density of the relaxed Bernoulli (binary Concrete) at `x`.

    The density of `y = sigmoid((θ + L) / τ)`, L standard logistic noise
    (Maddison et al. 2017, eq. 14), on (0, 1):

        log p(x) = log τ + θ - (τ+1) (log x + log(1-x))
                   - 2 log(exp(θ) x^(-τ) + (1-x)^(-τ))

    computed as TFP's `RelaxedBernoulli.log_prob` (the form that cancels
    the large terms symbolically near 0 and 1): with `z = θ - τ logit(x)`,
    `log τ - θ + (τ-1) log x - (τ+1) log(1-x) - 2 softplus(-z)` where
    `z > 0`, else `log τ + θ - (τ+1) log x + (τ-1) log(1-x) - 2 softplus(z)`.

    At 0 and 1 it returns the density's limit, as TFP: `+inf` below τ = 1,
    `-inf` above, and at τ = 1 the finite `-θ` (at 0) and `θ` (at 1). A
    `±inf` logit is the point mass at 1 (`+inf`) or 0 (`-inf`): 0 there,
    `-inf` elsewhere (TFP: `+inf` there). `x` outside [0, 1]: `-inf`; a NaN
    logit or `x`: NaN. It equals `relaxed_one_hot_log_prob([θ, 0], τ,
    [x, 1 - x])`, edges included.

    Args:
        logits: float tensor of log-odds θ.
        temperature: τ, a finite number >= `MIN_TEMPERATURE`, or a scalar
            tensor or variable (see `check_temperature`).
        x: the point, a tensor that broadcasts against `logits`.

    Returns:
        The log-density, of the broadcast shape of `logits` and `x`, in the
        dtype of `logits`.
    """
    theta, dtype = _logits(logits)
    compute = theta.dtype
    x = ops.cast(ops.convert_to_tensor(x), compute)
    tau = ops.cast(gumbel_ops.check_temperature(temperature), compute)
    finite = ops.isfinite(theta)
    inside = ops.logical_and(x >= 0, x <= 1)
    # Finite stand-ins where a branch is not used, so `where` drops no NaN.
    th = ops.where(finite, theta, 0.0)
    y = ops.where(inside, x, 0.5)
    logit_y = ops.log(y) - ops.log1p(-y)
    z = th - tau * logit_y
    value = ops.where(
        z > 0,
        -th + _xlogy(tau - 1.0, y) - (tau + 1.0) * ops.log1p(-y) - 2.0 * ops.softplus(-z),
        th - (tau + 1.0) * ops.log(y) + _xlog1py(tau - 1.0, -y) - 2.0 * ops.softplus(z),
    ) + ops.log(tau)
    atom = ops.where(theta > 0, 1.0, 0.0)
    value = ops.where(finite, value, ops.where(x == atom, 0.0, -np.inf))
    value = ops.where(inside, value, -np.inf)
    nan = ops.logical_or(ops.isnan(theta), ops.isnan(x))
    return ops.cast(gumbel_ops._nan_where(nan, value), dtype)


def categorical_log_prob(logits, x, axis=-1):
    """The log-probability of an exact categorical sample `x`.

    `log softmax(θ)_i` for the category i that `x` names: `x` is either its
    one-hot (a float tensor of the shape of `logits`, as `gumbel_max` and
    the hard estimators of `gumbel_softmax` return) or its index (an integer
    tensor of the shape of `logits` without `axis`).

    A `-inf` logit is an impossible category (`-inf` if `x` names it); the
    `+inf` logits of a row share its mass (`-log m` for each of m). A row of
    logits with a NaN or with every logit `-inf`, or a NaN in `x`: NaN. A
    float `x` that is not an exact one-hot (entries other than 0 and 1, or
    not one 1), or an index outside `[0, n)`: `-inf`, a value the
    categorical never takes.

    Args:
        logits: float tensor of unnormalized log-probabilities θ.
        x: the sample: a one-hot (float or bool) or an index (integer),
            broadcasting against `logits` (e.g. with leading sample
            dimensions).
        axis: the categories axis of `logits` (of a one-hot `x`, the same
            axis counted from the end).

    Returns:
        The log-probability, of the broadcast shape of `logits` (without
        `axis`) and `x` (without `axis` for a one-hot), in the dtype of
        `logits`.
    """
    theta, dtype = _logits(logits)
    compute = theta.dtype
    x = ops.convert_to_tensor(x)
    x_dtype = keras.backend.standardize_dtype(x.dtype)
    index = "int" in x_dtype
    if index:
        axis = gumbel_ops._check_axis(theta, axis)
        end, n = axis - len(theta.shape), theta.shape[axis]
    else:
        x = ops.cast(x, compute)
        axis, end, n = _categories(theta, x, axis)
    undefined = gumbel_ops._undefined_rows(theta, axis, keepdims=False)
    log_p = ops.log_softmax(gumbel_ops._without_certain(theta, axis), axis=axis)
    if index:
        shape = (n,) + (1,) * (-end - 1)
        chosen = ops.expand_dims(x, end) == ops.reshape(ops.arange(n, dtype=x_dtype), shape)
        valid = ops.any(chosen, axis=end)
        nan = undefined
    else:
        chosen = x == 1
        binary = ops.all(ops.logical_or(chosen, x == 0), axis=end)
        valid = ops.logical_and(binary, ops.sum(ops.cast(chosen, "int32"), axis=end) == 1)
        nan = ops.logical_or(undefined, ops.any(ops.isnan(x), axis=end))
    value = ops.where(valid, ops.sum(ops.where(chosen, log_p, 0.0), axis=end), -np.inf)
    return ops.cast(gumbel_ops._nan_where(nan, value), dtype)


def bernoulli_log_prob(logits, x):
    """The log-probability of an exact Bernoulli sample `x` (0 or 1).

    `log sigmoid(θ)` at 1 and `log sigmoid(-θ)` at 0: the distribution of
    `relaxed_bernoulli(..., hard=True)`'s values. `±inf` logits are sure
    values (0 at that value, `-inf` at the other); any `x` other than 0 and
    1: `-inf`; a NaN logit or `x`: NaN.

    Args:
        logits: float tensor of log-odds θ.
        x: the sample, a tensor that broadcasts against `logits`.

    Returns:
        The log-probability, of the broadcast shape, in the dtype of
        `logits`.
    """
    theta, dtype = _logits(logits)
    x = ops.cast(ops.convert_to_tensor(x), theta.dtype)
    value = ops.where(
        x == 1, ops.log_sigmoid(theta), ops.where(x == 0, ops.log_sigmoid(-theta), -np.inf)
    )
    nan = ops.logical_or(ops.isnan(theta), ops.isnan(x))
    return ops.cast(gumbel_ops._nan_where(nan, value), dtype)
