"""Gumbel-max, Gumbel-softmax and relaxed Bernoulli maths, and the gradient
estimators: the one place the formulas live.

Every function here is pure: randomness comes only from the ``seed`` argument,
which may be a ``keras.random.SeedGenerator`` (the usual case inside a layer),
a Python integer, a stateless seed tensor of shape ``[2]``, or ``None``
(non-deterministic, drawn from the backend's global generator, which
``keras.utils.set_random_seed`` makes reproducible; under ``jax.jit`` a seed
is required, as for every Keras random op).

The same code runs on every Keras backend (TensorFlow, JAX, PyTorch); only
the uniform noise is drawn by backend-specific code (``keras_gumbel._random``).
The densities of the same distributions (``relaxed_one_hot_log_prob``,
``relaxed_bernoulli_log_prob``, ``categorical_log_prob``,
``bernoulli_log_prob``) live in ``keras_gumbel._densities`` and are
re-exported here.

Rules every op follows, on every backend:

- A row of logits that defines no distribution (a NaN logit, or every logit
  ``-inf``: no possible category) gives a row of NaN, from every sampler
  and estimator and from the densities; a NaN log-odds gives NaN from
  ``relaxed_bernoulli``.
- With one category the relaxed sample is exactly 1 (the one-hot).
- A temperature is one number (or scalar tensor) >= ``MIN_TEMPERATURE``
  (1e-30): see ``check_temperature``.

The subset samplers re-exported here, ``gumbel_top_k`` (k distinct categories
without replacement), ``relaxed_top_k`` and ``relaxed_top_k_steps`` (their
relaxation), are written in ``keras_gumbel._subsets`` with the same noise and
checks.

References:
  - E. Jang, S. Gu, B. Poole. Categorical Reparameterization with
    Gumbel-Softmax. ICLR 2017. https://arxiv.org/abs/1611.01144
  - C. J. Maddison, A. Mnih, Y. W. Teh. The Concrete Distribution: A
    Continuous Relaxation of Discrete Random Variables. ICLR 2017.
    https://arxiv.org/abs/1611.00712
  - M. B. Paulus, C. J. Maddison, A. Krause. Rao-Blackwellizing the
    Straight-Through Gumbel-Softmax Gradient Estimator. ICLR 2021.
    https://arxiv.org/abs/2010.04838
  - L. Liu, C. Dong, X. Liu, B. Yu, J. Gao. Bridging Discrete and
    Backpropagation: Straight-Through and Beyond. NeurIPS 2023.
    https://arxiv.org/abs/2304.08612
  - T.-H. Fan, T.-C. Chi, A. I. Rudnicky, P. J. Ramadge. Training Discrete
    Deep Generative Models via Gapped Straight-Through Estimator. ICML 2022.
    https://arxiv.org/abs/2206.07235
  - D. Wang, T. D. Bui. Beyond ReinMax: Low-Variance Gradient Estimators
    for Discrete Latent Variables. 2026. https://arxiv.org/abs/2603.08257
    (reference code: github.com/danielwang0452/ReinMax_ASC and
    github.com/danielwang0452/DiscreteNumericalMethodsASC)
  - R. Shah, M. Yan, M. C. Mozer, D. Liu. Improving Discrete Optimisation
    Via Decoupled Straight-Through Gumbel-Softmax. 2024.
    https://arxiv.org/abs/2410.13331
"""

import keras
import numpy as np
from keras import ops

from keras_gumbel import _checks, _compat
from keras_gumbel._random import split, stateless_seed, uniform

__all__ = [
    "ESTIMATORS",
    "MIN_TEMPERATURE",
    "bernoulli_log_prob",
    "categorical_log_prob",
    "check_k",
    "check_temperature",
    "gumbel_max",
    "gumbel_softmax",
    "gumbel_top_k",
    "one_hot_argmax",
    "relaxed_bernoulli",
    "relaxed_bernoulli_log_prob",
    "relaxed_one_hot_log_prob",
    "relaxed_top_k",
    "relaxed_top_k_steps",
    "resolve_estimator",
    "resolve_options",
    "sample_gumbel",
]

# The estimators `gumbel_softmax` knows; all but "relaxed" output exact one-hots.
ESTIMATORS = (
    "relaxed",
    "straight_through",
    "gumbel_rao",
    "reinmax",
    "gapped_straight_through",
    "reinmax_rao",
    "reinmax_cv",
    "decoupled_straight_through",
)

# The estimators that average `samples` conditional Gumbel draws.
MULTI_SAMPLE = ("gumbel_rao", "reinmax_rao", "reinmax_cv")

# The estimators whose gradient does not reach the temperature (their
# surrogates hold it constant, or, for the decoupled estimator, the forward
# temperature does not enter the gradient at all).
NO_TEMPERATURE_GRADIENT = ("reinmax", "reinmax_rao", "reinmax_cv", "decoupled_straight_through")

# The control-variate weight η of ReinMax-CV when none is given: the default
# of the reference implementation (Wang & Bui 2026, `reinmax_jacobians.py`).
REINMAX_CV_ETA = 0.7

# The gap kappa of the gapped straight-through estimator (Fan et al. 2022's
# GST-1.0).
GAP = 1.0

_LOW_PRECISION = ("float16", "bfloat16")

# The smallest temperature the samplers and densities take (see
# `check_temperature`).
MIN_TEMPERATURE = _checks.MIN_TEMPERATURE


def _is_tensor(value):
    return ops.is_tensor(value) or isinstance(value, keras.Variable)


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
    checked = _checks.check_axis(axis, len(logits.shape))
    check_categories(logits.shape, axis, "logits")
    return checked


def check_categories(shape, axis, name="logits"):
    """Checks that the categories axis `axis` of a tensor of shape `shape`
    has a known size >= 1 (an empty axis has no category to sample)."""
    size = tuple(shape)[axis]
    if size is None:
        raise ValueError(
            f"the number of categories ({name}.shape[{axis}]) must be known, "
            f"received {name} of shape {tuple(shape)}"
        )
    if size == 0:
        raise ValueError(
            f"the categories axis must hold at least one category, received "
            f"axis={axis} for {name} of shape {tuple(shape)}"
        )


def _gumbel(shape, seed, dtype):
    return -ops.log(-ops.log(uniform(shape, seed, dtype)))


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
    going to the first maximum, in the dtype of `x`. A row with a NaN, or
    with every entry `-inf`, is a row of NaN (as in the samplers)."""
    axis = _check_axis(x, axis)
    return _nan_where(_undefined_rows(x, axis), _one_hot_argmax(x, axis))


def _undefined_rows(x, axis, keepdims=True):
    """The rows of logits `x` (categories on `axis`) that define no
    distribution: those holding a NaN, and those whose every logit is `-inf`
    (no possible category). Every op gives them a row of NaN: the backends'
    own argmax and softmax disagree there (TensorFlow's softmax keeps the
    finite entries of a row with a NaN, JAX's and PyTorch's argmax pick the
    NaN, an all `-inf` row's argmax is category 0)."""
    nan = ops.any(ops.isnan(x), axis=axis, keepdims=keepdims)
    none = ops.all(ops.isneginf(x), axis=axis, keepdims=keepdims)
    return ops.logical_or(nan, none)


def _nan_where(undefined, y):
    """`y` with NaN in the rows where `undefined` (a boolean that
    broadcasts against `y`) holds."""
    return ops.where(undefined, np.nan, y)


def _one_category(x):
    """The sample of one category: exactly 1, with a zero gradient that
    stays connected to `x` (every estimator's gradient is 0 there).

    Not a softmax of the one entry (`exp(x - max x) / sum`), nor
    `x - x + 1`: compiled code may compute the two uses of `x` in different
    fusions, rounded differently (with TensorFlow 2.21, `x - x + 1` of a
    noisy logit came out as 0.99999905 or 1.0000002 in a `tf.function`), so
    the difference is not exactly 0. `0 * x` is 0 for every finite `x`,
    however it was rounded.
    """
    return ops.where(ops.isfinite(x), x, 0.0) * 0.0 + 1.0


def _one_hot_argmax(x, axis):
    depth = x.shape[axis]
    return ops.one_hot(ops.argmax(x, axis=axis), depth, axis=axis, dtype=x.dtype)


def _straight_through(hard, soft):
    # `soft - stop_gradient(soft)` is exactly 0 in the forward pass, so the
    # output is exactly `hard`, while the gradient is the relaxed sample's.
    # (`hard - sg(soft) + soft` would round away from an exact one-hot.)
    return hard + (soft - ops.stop_gradient(soft))


def resolve_estimator(estimator, hard):
    """The estimator named by the (`estimator`, `hard`) pair, checked."""
    _checks.check_bool(hard, "hard")
    if estimator is None:
        return "straight_through" if hard else "relaxed"
    _checks.check_choice(estimator, "estimator", ESTIMATORS)
    if hard and estimator == "relaxed":
        raise ValueError(
            "hard=True asks for exact one-hot samples, which the 'relaxed' "
            "estimator does not give; received hard=True, estimator='relaxed'"
        )
    return estimator


def gumbel_softmax(
    logits,
    temperature=1.0,
    hard=False,
    axis=-1,
    seed=None,
    estimator=None,
    samples=1,
    eta=None,
    backward_temperature=None,
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

    The estimators (θ the logits, τ the temperature, sg stop-gradient,
    J(p) = diag(p) - p pᵀ the softmax Jacobian at p, ∇ the incoming gradient).
    All but `"relaxed"` output the exact one-hot `D = one_hot(argmax(θ + g))`,
    a draw of `Categorical(softmax(θ))`, and differ only in their gradient:

    - `"relaxed"` (Jang et al. 2017; Maddison et al. 2017): `y`.
    - `"straight_through"`: `D + y - sg(y)`; gradient `J(y)ᵀ∇ / τ`.
    - `"gumbel_rao"` (Paulus et al. 2021): `D + ȳ - sg(ȳ)` with
      `ȳ = (1/K) Σ_k softmax((θ + G_k) / τ)`, the `G_k` (`K = samples`)
      Gumbel vectors drawn conditionally on `argmax(θ + G_k) = D`: for the
      chosen class i, `θ_i + G_i = log Z - log E_i`, for the others
      `θ_j + G_j = -log(E_j exp(-θ_j) + E_i / Z)`, with `Z = Σ exp θ` and
      `E` standard exponential noise. The forward pass's own `g` is one of
      the K vectors (it is such a conditional draw), so `samples=1` is
      exactly `"straight_through"`. A Rao-Blackwellisation: the same mean
      as straight-through, a lower variance.
    - `"reinmax"` (Liu et al. 2023): with `π0 = softmax(θ)` and
      `π1 = (D + softmax(θ / τ)) / 2`, the gradient is
      `2 J(π1)ᵀ∇ - ½ J(π0)ᵀ∇` (Heun's method: second-order accurate, exact
      in expectation for a quadratic f at τ = 1). The authors require
      `τ >= 1`; a smaller temperature is refused (see
      `check_reinmax_temperature`). No gradient reaches the temperature.
    - `"gapped_straight_through"` (Fan et al. 2022, GST-1.0): deterministic
      logits `θ'` that make D the argmax with a gap κ = 1,
      `θ'_i = max θ` for the chosen class and `θ'_j = min(θ_j, max θ - κ)`
      for the others (the shift held constant), and the output
      `D + softmax(θ'/τ) - sg(softmax(θ'/τ))`: no noise in the gradient.
    - `"reinmax_rao"` (Wang & Bui 2026, ReinMax-Rao): ReinMax with its
      second-order term Rao-Blackwellised over conditional Gumbel noise:
      `2 J̄ᵀ∇ - ½ J(π0)ᵀ∇`, `J̄ = (1/K) Σ_k J(softmax((θ' + G_k)/τ)) / τ`,
      `θ' = log((π0 + D)/2)`, the `G_k` (`K = samples`) drawn given
      `argmax(θ' + G_k) = D` as for `"gumbel_rao"` (all K fresh draws: the
      forward pass's noise is not such a draw for θ'). The reference code
      averages K = 100. Any temperature; no gradient reaches it.
    - `"reinmax_cv"` (Wang & Bui 2026, ReinMax-CV): ReinMax at τ = 1 with
      the control variate `η (J(s_0) - J̄)ᵀ∇` subtracted,
      `s_0 = softmax((θ' + g)/τ)` at the forward pass's own Gumbel noise g
      and `J̄` as in `"reinmax_rao"`: `2 J(π1)ᵀ∇ - ½ J(π0)ᵀ∇
      - η (J(s_0)/τ - J̄)ᵀ∇` with `π1 = (D + softmax(θ))/2`. As in the
      reference, the ReinMax term is taken at temperature 1 and the
      temperature τ is the control variate's (the reference's `tau2`).
      `eta` (default 0.7, the reference's) weighs the control variate
      (`eta=0` is ReinMax at τ = 1). No gradient reaches the temperature.
    - `"decoupled_straight_through"` (Shah et al. 2024, Decoupled ST-GS):
      straight-through with separate forward and backward temperatures,
      `D + y_b - sg(y_b)`, `y_b = softmax((θ + g)/τ_b)`,
      `τ_b = backward_temperature` (default: the temperature). The forward
      output is the exact one-hot `D = one_hot(argmax(softmax((θ + g)/τ_f)))`
      with `τ_f = temperature`, and an argmax does not depend on a positive
      scale: with a hard forward pass the forward temperature changes
      nothing in the output or the gradient (it is the layer's temperature,
      annealed and saved as for the other estimators). No gradient reaches
      either temperature.

    `-inf` logits mark impossible categories: they are never sampled and their
    entries, outputs and gradients stay finite for the other categories.
    A `+inf` logit marks a certain category: its row is that category's
    one-hot, relaxed or hard, with a zero gradient (several `+inf` entries
    of a row share its mass; the one-hot then takes the first).
    A row that defines no distribution, one with a NaN logit or with every
    logit `-inf`, gives a row of NaN, for every estimator and on every
    backend (so does `gumbel_max`). With one category the sample is exactly
    1, with a zero gradient.

    The density of the relaxed sample is `relaxed_one_hot_log_prob`; the
    exact one-hots of the other estimators are scored by
    `categorical_log_prob`.

    Args:
        logits: float tensor of unnormalized log-probabilities. float16 and
            bfloat16 are computed in float32 and returned in their own dtype.
        temperature: a finite number >= `MIN_TEMPERATURE` (1e-30), or a
            scalar tensor or variable (read on every call, so an annealed
            variable is seen by compiled functions, and checked on every
            call: see `check_temperature`). One temperature for the whole
            tensor: a per-category one is refused.
        hard: whether to return exact one-hots with straight-through gradients.
        axis: the categories axis.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]`.
        estimator: the gradient estimator: one of `ESTIMATORS`; `None` means
            `"straight_through"` if `hard` else `"relaxed"`.
        samples: the number K of conditional Gumbel vectors that
            `"gumbel_rao"`, `"reinmax_rao"` and `"reinmax_cv"` average, an
            integer >= 1 (the other estimators take only 1).
        eta: the control-variate weight of `"reinmax_cv"`, a finite number
            (`None`: 0.7, the reference's default); only that estimator
            takes it.
        backward_temperature: the backward temperature τ_b of
            `"decoupled_straight_through"`, a finite number >=
            `MIN_TEMPERATURE` (`None`: the temperature); only that estimator
            takes it.

    Returns:
        A tensor of the shape and dtype of `logits`.
    """
    logits = ops.convert_to_tensor(logits)
    _float_dtype(logits, "logits")
    axis = _check_axis(logits, axis)
    estimator = resolve_estimator(estimator, hard)
    samples = validate_samples(samples, estimator)
    options = resolve_options(estimator, eta, backward_temperature)
    return _gumbel_softmax(logits, temperature, axis, seed, estimator, samples, options)


def resolve_options(estimator, eta=None, backward_temperature=None):
    """The extra hyper-parameters of `estimator`, checked, as a dict:
    `{"eta": η}` for `"reinmax_cv"`, `{"backward_temperature": τ_b}` for
    `"decoupled_straight_through"`, `{}` for the others. An option given
    to an estimator that does not take it is refused."""
    options = {}
    if eta is not None:
        if estimator != "reinmax_cv":
            raise ValueError(
                "eta is the control-variate weight of ReinMax-CV, which only "
                f"estimator='reinmax_cv' takes; received eta={eta!r}, "
                f"estimator={estimator!r}"
            )
    if estimator == "reinmax_cv":
        options["eta"] = REINMAX_CV_ETA if eta is None else _checks.check_finite(eta, "eta")
    if backward_temperature is not None:
        if estimator != "decoupled_straight_through":
            raise ValueError(
                "backward_temperature is the backward temperature of the "
                "decoupled straight-through estimator, which only "
                "estimator='decoupled_straight_through' takes; received "
                f"backward_temperature={backward_temperature!r}, estimator={estimator!r}"
            )
        options["backward_temperature"] = _checks.check_temperature(
            backward_temperature, "backward_temperature"
        )
    elif estimator == "decoupled_straight_through":
        options["backward_temperature"] = None
    return options


def _gumbel_softmax(logits, temperature, axis, seed, estimator, samples, options=None):
    """`gumbel_softmax` on checked arguments: float `logits`, `axis` in
    `[0, rank)`, a resolved `estimator`, `samples` valid for it and its
    `options` (`resolve_options`). The layers call it directly, having
    checked their arguments once. The temperature is checked here, on
    every call (`check_temperature`): a variable may have changed since the
    last one."""
    options = options or {}
    dtype = keras.backend.standardize_dtype(logits.dtype)
    compute = _compute_dtype(dtype)
    x = ops.cast(logits, compute)
    trainable = getattr(temperature, "trainable", False)
    temperature = ops.cast(check_temperature(temperature, estimator=estimator), compute)
    seed = stateless_seed(seed)  # a generator advances, whatever the path
    if x.shape[axis] == 1:
        y = _nan_where(_undefined_rows(x, axis), _one_category(x))
    else:
        y = _sample(x, temperature, trainable, axis, seed, estimator, samples, options)
    return ops.cast(y, dtype)


def _sample(x, temperature, trainable, axis, seed, estimator, samples, options=None):
    """A sample of every estimator from `x` (two categories or more), in
    its (compute) dtype, NaN in the rows that define no distribution."""
    options = options or {}
    gumbel = _gumbel(ops.shape(x), seed, x.dtype)
    noisy = x + gumbel
    if estimator in ("reinmax", "gapped_straight_through", "reinmax_rao", "reinmax_cv"):
        hard = _one_hot_argmax(ops.stop_gradient(noisy), axis)
        if estimator == "reinmax":
            surrogate = _reinmax_surrogate(x, hard, temperature, axis)
        elif estimator == "reinmax_rao":
            surrogate = _reinmax_rao_surrogate(x, hard, temperature, axis, seed, samples)
        elif estimator == "reinmax_cv":
            surrogate = _reinmax_cv_surrogate(
                x, gumbel, hard, temperature, axis, seed, samples, options["eta"]
            )
        else:
            surrogate = _gapped_surrogate(x, hard, temperature, trainable, axis)
        return _nan_where(_undefined_rows(x, axis), _straight_through(hard, surrogate))
    if estimator == "decoupled_straight_through":
        # The forward temperature cannot move an argmax: D is the Gumbel-max
        # sample; the gradient is straight-through's at the backward one.
        backward = options.get("backward_temperature")
        tau_b = ops.stop_gradient(temperature) if backward is None else ops.cast(backward, x.dtype)
        soft = ops.softmax(_over_temperature(noisy, tau_b, False), axis=axis)
        undefined = ops.isnan(ops.sum(soft, axis=axis, keepdims=True))
        hard = _one_hot_argmax(ops.stop_gradient(noisy), axis)
        return _nan_where(undefined, _straight_through(hard, soft))
    soft = ops.softmax(_over_temperature(noisy, temperature, trainable), axis=axis)
    # The softmax of a row that defines no distribution holds a NaN on every
    # backend, though not everywhere (TensorFlow's keeps the finite entries
    # of a row with a NaN logit): its sum finds the row, for one reduction
    # where testing the logits (`_undefined_rows`) takes four passes.
    undefined = ops.isnan(ops.sum(soft, axis=axis, keepdims=True))
    if estimator == "relaxed":
        return _nan_where(undefined, soft)
    hard = _one_hot_argmax(soft, axis)
    if samples > 1:
        soft = _gumbel_rao_average(soft, x, hard, temperature, trainable, axis, seed, samples)
    return _nan_where(undefined, _straight_through(hard, soft))


def _over_temperature(x, temperature, trainable):
    """`x / temperature` for a softmax, kept finite where it matters.

    A `+inf` entry (a certain category) becomes the dtype's largest finite
    value, so the softmax gives it the whole mass instead of NaN
    (`inf - inf`); several `+inf` entries of a row share it equally. A
    trainable temperature's gradient stays finite at infinite entries,
    whose `d(x / tau)/dtau = -x / tau^2` would be infinite (the cheap path is
    kept for fixed temperatures, whose gradient nobody takes).
    """
    if trainable:
        infinite = ops.isinf(x)
        x = ops.where(infinite, x, ops.where(infinite, 0.0, x) / temperature)
    else:
        x = x / temperature
    return _cap(x)


@ops.custom_gradient
def _cap(x):
    """`x` with `+inf` replaced by the dtype's largest value, with an
    identity gradient.

    A select's own gradient costs more passes over the tensor; the identity
    is exact at finite entries, and at a
    capped `+inf` entry the incoming softmax gradient is 0 (its category's
    probability is 1).
    """

    def grad(*args, upstream=None):
        return args[0] if upstream is None else upstream

    dtype = keras.backend.standardize_dtype(x.dtype)
    largest = ops.convert_to_tensor(np.finfo(dtype).max, dtype)
    # A select, not `minimum`: Keras' PyTorch backend returns `minimum` of
    # float64 tensors in float32 (Keras 3.15), where float64's largest value
    # is inf.
    return ops.where(ops.isposinf(x), largest, x), grad


def _without_certain(x, axis):
    """`x` with every row that holds a `+inf` logit (a certain category)
    made finite and degenerate: 0 at its `+inf` entries, `-inf` elsewhere.

    The same distribution (all the mass on the `+inf` entries), written so
    that `softmax`, `logsumexp` and the estimators' surrogates stay finite;
    no gradient reaches such a row, whose sample does not depend on its
    logits.
    """
    certain = ops.isposinf(x)
    row = ops.any(certain, axis=axis, keepdims=True)
    return ops.where(row, ops.where(certain, 0.0, -np.inf), x)


def gumbel_max(logits, axis=-1, seed=None):
    """An exact categorical sample as a one-hot: `one_hot(argmax(logits + g))`.

    The Gumbel-max trick (Gumbel 1954; Maddison et al. 2014): with `g`
    standard Gumbel noise, `argmax(logits + g)` is distributed as
    `Categorical(softmax(logits))`. It has no useful gradient. A row with a
    NaN logit, or with every logit `-inf`, is a row of NaN (as in
    `gumbel_softmax`). Its log-probability is `categorical_log_prob`.

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
    one_hot = _one_hot_argmax(ops.stop_gradient(noisy), axis)
    return ops.cast(_nan_where(_undefined_rows(x, axis), one_hot), dtype)


def validate_samples(samples, estimator):
    """Returns `samples` as an int, or raises: an integer >= 1, and > 1 only
    for the estimators that average several conditional draws
    (`MULTI_SAMPLE`: `"gumbel_rao"`, `"reinmax_rao"`, `"reinmax_cv"`)."""
    samples = _checks.check_int(samples, "samples")
    if samples > 1 and estimator not in MULTI_SAMPLE:
        raise ValueError(
            "samples > 1 is the number of conditional Gumbel draws, which only "
            "estimator='gumbel_rao', 'reinmax_rao' or 'reinmax_cv' takes; "
            f"received samples={samples!r}, estimator={estimator!r}"
        )
    return samples


def check_temperature(temperature, name="temperature", estimator=None):
    """Checks a temperature where it reaches a sampler or a density: one
    finite number >= `MIN_TEMPERATURE` (1e-30), and >= 1 for
    `estimator="reinmax"` (Liu et al. 2023).

    The floor: below 1e-30, `(logits + g) / temperature` overflows float32
    for logits of a few units, the overflowed entries tie and the sample
    would be a uniform vector where a near one-hot is meant (float32's
    smallest number is 1.4e-45; 1e-46 rounds to 0). A tensor with a shape
    (a temperature per category) is refused for its shape, traced or not:
    the samplers take one temperature.

    A Python number, or a tensor or variable read eagerly, raises
    `ValueError` now, naming `name` and the value. Inside a traced function
    (a compiled `fit` without XLA) the check is an assertion that fails the
    step at run time (`InvalidArgumentError`). XLA (`jit_compile=True`)
    drops assertions: there the check is `TemperatureScheduler`'s, which
    refuses a bad schedule value before it reaches the variable.

    Args:
        temperature: a number, or a scalar tensor or variable.
        name: the argument's name in the error (e.g. `"min_temperature"`).
        estimator: the estimator the temperature is for (`"reinmax"` needs
            `temperature >= 1`).

    Returns:
        `temperature`, or in a traced graph the tensor that carries the
        assertion.
    """
    reinmax = estimator == "reinmax"
    if not _is_tensor(temperature):
        value = _checks.check_temperature(temperature, name)
    elif not _compat.is_traced(_checks.check_scalar(temperature, name)):
        value = _checks.check_temperature(_number(temperature), name)
    else:
        if reinmax:
            rule = f"estimator='reinmax' needs {name} >= 1 (Liu et al. 2023)"
        else:
            rule = f"{name} must be a finite number > 0 and >= {MIN_TEMPERATURE:g}"
        return _compat.assert_at_run_time(
            temperature,
            lambda t: ops.logical_and(
                ops.isfinite(t), t >= 1 if reinmax else ops.logical_and(t > 0, t >= MIN_TEMPERATURE)
            ),
            f"{rule}, received {name}=",
        )
    if reinmax and value < 1:
        raise ValueError(
            f"estimator='reinmax' needs {name} >= 1 (Liu et al. 2023), "
            f"received {name}={value!r}"
        )
    return temperature


def _number(tensor):
    # A scalar's shortest decimal form in its own dtype: the float32 -0.07
    # reads -0.07, not -0.07000000029802322.
    value = ops.convert_to_numpy(tensor)
    return float(str(value)) if np.ndim(value) == 0 else value


def check_reinmax_temperature(temperature, name="temperature"):
    """`check_temperature(temperature, name, estimator="reinmax")`: a finite
    number >= 1 (Liu et al. 2023)."""
    return check_temperature(temperature, name, estimator="reinmax")


def _conditional_gumbel(x, hard, axis, seed, samples):
    """`samples` Gumbel vectors `G`, drawn given `argmax(x + G) = hard`.

    Paulus et al. 2021 (after Maddison et al. 2014's top-down construction):
    with `Z = Σ exp x` and `E` standard exponential noise, the maximum
    `x_i + G_i = log Z - log E_i` and the others are Gumbels truncated
    below it, `x_j + G_j = -log(E_j exp(-x_j) + E_i / Z)`. Written in log
    space, so `-inf` logits give finite noise and never overflow.

    Returns:
        A tensor of shape `[samples] + x.shape`: the noise `G`, not `x + G`.
    """
    shape = (samples,) + tuple(ops.shape(x))
    log_e = ops.log(-ops.log(uniform(shape, seed, x.dtype)))
    chosen = hard > 0
    log_e_chosen = ops.sum(ops.where(chosen, log_e, 0.0), axis=axis + 1, keepdims=True)
    log_z = ops.logsumexp(x, axis=axis, keepdims=True)
    top = log_z - x - log_e_chosen
    rest = -ops.logaddexp(log_e, log_e_chosen + x - log_z)
    return ops.where(chosen, top, rest)


def _gumbel_rao_average(soft, x, hard, temperature, trainable, axis, seed, samples):
    # The forward pass's own relaxed sample `soft` is one conditional draw;
    # the other samples - 1 come from a seed split off the forward seed.
    extra_seed = split(seed)
    # Any finite noise gives a row with a +inf logit its one-hot: draw it
    # from the finite form of the logits.
    finite = _without_certain(ops.stop_gradient(x), axis)
    noise = _conditional_gumbel(finite, hard, axis, extra_seed, samples - 1)
    scaled = _over_temperature(ops.expand_dims(x, 0) + noise, temperature, trainable)
    more = ops.softmax(scaled, axis=axis + 1)
    return (soft + ops.sum(more, axis=0)) / samples


def _softmax_jacobian_surrogate(x, probs, axis):
    """A tensor whose gradient with respect to `x` is `J(p)ᵀ∇`.

    `p ⊙ (x - <p, x>)` with `p` held constant has the Jacobian
    `J(p) = diag(p) - p pᵀ`, the softmax's at `p`: the gradient of Liu et
    al.'s `softmax(x + sg(log p - x))` without the log/exp round trip, so it
    is exact for huge logits. Its value is meaningless; it is only used as
    `s - sg(s)`. `x` must be finite.
    """
    probs = ops.stop_gradient(probs)
    return probs * (x - ops.sum(probs * x, axis=axis, keepdims=True))


def _reinmax_surrogate(x, hard, temperature, axis):
    x = _without_certain(x, axis)
    pi0 = ops.softmax(x, axis=axis)
    pi1 = (hard + ops.softmax(x / temperature, axis=axis)) / 2
    # -inf logits have pi0 = pi1 = 0, so zeroing them changes no gradient
    # and keeps the surrogates finite.
    x = ops.where(ops.isneginf(x), 0.0, x)
    return 2.0 * _softmax_jacobian_surrogate(x, pi1, axis) - 0.5 * (
        _softmax_jacobian_surrogate(x, pi0, axis)
    )


def _shifted_logits(x, hard, axis):
    """`θ' = log((π0 + D)/2)` up to a constant, `π0 = softmax(x)`, held
    constant: the logits at which ReinMax-Rao and ReinMax-CV evaluate their
    softmax Jacobians (Wang & Bui 2026). Written in log space
    (`log1p(π_i)` for the sampled class, `log π_j` for the others; the
    common `-log 2` does not change a softmax or a conditional Gumbel draw),
    so `-inf` logits stay `-inf` and huge logits stay finite."""
    log_pi = ops.log_softmax(ops.stop_gradient(x), axis=axis)
    return ops.where(hard > 0, ops.log1p(ops.exp(log_pi)), log_pi)


def _jacobian_average_surrogate(x, shifted, hard, temperature, axis, seed, samples):
    """A tensor whose gradient with respect to `x` is `J̄ᵀ∇`,
    `J̄ = (1/K) Σ_k J(softmax((θ' + G_k)/τ)) / τ` with `θ' = shifted` and
    the `G_k` (`K = samples`) drawn given `argmax(θ' + G_k) = D`."""
    noise = _conditional_gumbel(shifted, hard, axis, split(seed), samples)
    probs = ops.softmax((ops.expand_dims(shifted, 0) + noise) / temperature, axis=axis + 1)
    surrogates = _softmax_jacobian_surrogate(ops.expand_dims(x, 0), probs, axis + 1)
    return ops.mean(surrogates, axis=0) / temperature


def _reinmax_rao_surrogate(x, hard, temperature, axis, seed, samples):
    x = _without_certain(x, axis)
    temperature = ops.stop_gradient(temperature)
    pi0 = ops.softmax(x, axis=axis)
    shifted = _shifted_logits(x, hard, axis)
    # -inf logits have zero probabilities everywhere: zeroing them changes
    # no gradient and keeps the surrogates finite.
    x = ops.where(ops.isneginf(x), 0.0, x)
    second = _jacobian_average_surrogate(x, shifted, hard, temperature, axis, seed, samples)
    return 2.0 * second - 0.5 * _softmax_jacobian_surrogate(x, pi0, axis)


def _reinmax_cv_surrogate(x, gumbel, hard, temperature, axis, seed, samples, eta):
    x = _without_certain(x, axis)
    temperature = ops.stop_gradient(temperature)
    pi0 = ops.softmax(x, axis=axis)
    # ReinMax at temperature 1, as the reference's ReinMax-CV.
    pi1 = (hard + pi0) / 2
    shifted = _shifted_logits(x, hard, axis)
    # The Gumbel-softmax Jacobian at θ' with the forward pass's own noise
    # (finite even where a logit is -inf or +inf).
    single = ops.softmax((shifted + gumbel) / temperature, axis=axis)
    x = ops.where(ops.isneginf(x), 0.0, x)
    reinmax = 2.0 * _softmax_jacobian_surrogate(x, pi1, axis) - 0.5 * (
        _softmax_jacobian_surrogate(x, pi0, axis)
    )
    control = _softmax_jacobian_surrogate(x, single, axis) / temperature - (
        _jacobian_average_surrogate(x, shifted, hard, temperature, axis, seed, samples)
    )
    return reinmax - eta * control


def _gapped_surrogate(x, hard, temperature, trainable, axis):
    x = _without_certain(x, axis)
    top = ops.max(x, axis=axis, keepdims=True)
    shift = ops.where(hard > 0, top - x, -ops.relu(x - top + GAP))
    shifted = x + ops.stop_gradient(shift)
    return ops.softmax(_over_temperature(shifted, temperature, trainable), axis=axis)


def _logistic(shape, seed, dtype):
    u = uniform(shape, seed, dtype)
    return ops.log(u) - ops.log1p(-u)


def relaxed_bernoulli(logits, temperature=1.0, hard=False, seed=None):
    """A relaxed Bernoulli (binary Concrete) sample of `logits`.

    `y = sigmoid((logits + L) / temperature)` with `L = log u - log(1 - u)`
    standard logistic noise, `u ~ Uniform[tiny, 1)`: a draw of
    `tfp.distributions.RelaxedBernoulli(temperature, logits=logits)` (Maddison
    et al. 2017; Jang et al. 2017). For the same stateless seed the noise is
    TFP's, and so is the sample, up to TFP's sigmoid, which switches to
    `exp(z)` below `z = -9` (a difference under 2e-8). As the temperature
    goes to 0, `y` approaches the exact
    Bernoulli sample `D = [logits + L > 0]`, which is 1 with probability
    `sigmoid(logits)`. A NaN log-odds gives NaN (relaxed or hard), on every
    backend. The density of `y` is `relaxed_bernoulli_log_prob`, that of D
    `bernoulli_log_prob`.

    With `hard=True` (straight-through) the output is the exact 0/1 value D
    and the gradient is the relaxed sample's: `D + y - stop_gradient(y)`.

    Args:
        logits: float tensor of log-odds; `±inf` gives a sure 1 or 0. float16
            and bfloat16 are computed in float32 and returned in their own
            dtype.
        temperature: a finite number >= `MIN_TEMPERATURE` (1e-30), or a
            scalar tensor or variable (checked on every call: see
            `check_temperature`).
        hard: whether to return exact 0/1 values with straight-through
            gradients.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]`.

    Returns:
        A tensor of the shape and dtype of `logits`.
    """
    logits = ops.convert_to_tensor(logits)
    _float_dtype(logits, "logits")
    _checks.check_bool(hard, "hard")
    return _relaxed_bernoulli(logits, temperature, hard, seed)


def _relaxed_bernoulli(logits, temperature, hard, seed):
    """`relaxed_bernoulli` on checked arguments (the layer calls it
    directly); the temperature is checked here, on every call."""
    dtype = keras.backend.standardize_dtype(logits.dtype)
    compute = _compute_dtype(dtype)
    x = ops.cast(logits, compute)
    trainable = getattr(temperature, "trainable", False)
    temperature = check_temperature(temperature)
    # TFP's order of operations (a logistic with loc = logits / tau and
    # scale = 1 / tau), so the same seed gives TFP's sample.
    rate = 1.0 / ops.cast(temperature, compute)
    noise = _logistic(ops.shape(x), seed, compute)
    if trainable:
        # As in `_over_temperature`: (±inf * rate) has a NaN rate gradient.
        finite = ops.isfinite(x)
        z = ops.where(finite, noise * rate + ops.where(finite, x, 0.0) * rate, x)
    else:
        z = noise * rate + x * rate
    soft = ops.sigmoid(z)
    if not hard:
        return ops.cast(soft, dtype)
    return ops.cast(_straight_through(ops.cast(z > 0, compute), soft), dtype)


# The subset samplers (k of n categories) live in their own module, which
# uses the helpers above: imported last, once they all exist.
from keras_gumbel._subsets import (  # noqa: E402
    check_k,
    gumbel_top_k,
    relaxed_top_k,
    relaxed_top_k_steps,
)

# The densities use the helpers above (the dtype rules, the checks), hence
# their import at the end.
from keras_gumbel._densities import (  # noqa: E402
    bernoulli_log_prob,
    categorical_log_prob,
    relaxed_bernoulli_log_prob,
    relaxed_one_hot_log_prob,
)
