"""Subsets: k distinct categories out of n, exact (Gumbel-top-k) and relaxed.

Private: the public functions are re-exported by `keras_gumbel.ops`
(`gumbel_top_k`, `relaxed_top_k`, `relaxed_top_k_steps`, `check_k`), and
the layers (`GumbelTopK`, `ConcreteSelect`) call the unchecked cores
(`_top_k_steps`, `_noise_free_steps`). The noise, the argument checks and
the temperature scaling are `ops`'s own: the same seed draws the same
Gumbel noise as `ops.gumbel_softmax` does.

References:
  - W. Kool, H. van Hoof, M. Welling. Stochastic Beams and Where to Find
    Them: The Gumbel-Top-k Trick for Sampling Sequences Without Replacement.
    ICML 2019. https://arxiv.org/abs/1903.06059
  - S. M. Xie, S. Ermon. Reparameterizable Subset Sampling via Continuous
    Relaxations. IJCAI 2019. https://arxiv.org/abs/1901.10517
  - R. L. Plackett. The Analysis of Permutations. Applied Statistics 24(2),
    1975; R. D. Luce. Individual Choice Behavior. 1959.
"""

import keras
import numpy as np
from keras import ops

from keras_gumbel import _checks

# `ops` imports this module at its bottom, once every name below exists.
from keras_gumbel.ops import (
    _compute_dtype,
    _float_dtype,
    _gumbel,
    _over_temperature,
    _straight_through,
    check_categories,
    check_temperature,
)

__all__ = ["check_k", "gumbel_top_k", "relaxed_top_k", "relaxed_top_k_steps"]


def check_k(k, shape, axis, name="logits", what="categories"):
    """Returns `k` as an int, or raises: the size of a subset of the
    categories on axis `axis` (already in `[0, rank)`) of a tensor of shape
    `shape`: an integer (not a bool) in `[1, n]`, `n` known.

    Args:
        k: the value to check.
        shape: the shape of the logits (a tuple; `None` for unknown sizes).
        axis: the categories axis, in `[0, len(shape))`.
        name: the tensor's name in the messages.
        what: what the axis holds, in the messages (`"features"`).

    Returns:
        `k` as a Python int.
    """
    k = _checks.check_int(k, "k")
    shape = tuple(shape)
    if shape[axis] is None:
        raise ValueError(
            f"k must be at most the number of {what}, which must be known, "
            f"received k={k} for {name} of shape {shape} (axis={axis})"
        )
    check_categories(shape, axis, name)
    n = int(shape[axis])
    if k > n:
        _checks.fail("k", f"an integer in [1, {n}] (the number of {what}, {name}.shape[{axis}])", k)
    return k


def _check(logits, k, axis):
    logits = ops.convert_to_tensor(logits)
    _float_dtype(logits, "logits")
    axis = _checks.check_axis(axis, len(logits.shape))
    k = check_k(k, logits.shape, axis)
    return logits, k, axis


def gumbel_top_k(logits, k, axis=-1, seed=None):
    """An exact sample of `k` distinct categories, without replacement.

    The Gumbel-top-k trick (Kool et al. 2019): with `g` standard Gumbel
    noise, the indices `i_1, ..., i_k` of the `k` largest perturbed logits
    `logits + g`, in decreasing order, are distributed as `k` successive
    draws without replacement from `Categorical(softmax(logits))`
    (Plackett-Luce):

        P(i_1, ..., i_k) = prod_j p_{i_j} / (1 - p_{i_1} - ... - p_{i_{j-1}}),
        p = softmax(logits),

    so `P({i, j}) = p_i p_j (1 / (1 - p_i) + 1 / (1 - p_j))` for `k = 2`.
    `k = 1` is the Gumbel-max trick (`ops.gumbel_max`). It has no useful
    gradient; `relaxed_top_k` is its relaxation, and with the same seed its
    `hard=True` output is this k-hot.

    `-inf` logits mark impossible categories: they are never drawn as long
    as at least `k` categories have finite logits (with fewer, the sample is
    filled with impossible ones). `+inf` logits are drawn first.

    Args:
        logits: float tensor of unnormalized log-probabilities (float16 and
            bfloat16 are perturbed in float32).
        k: the number of categories to draw: an integer in `[1, n]`, `n`
            the (known) size of `axis`.
        axis: the categories axis.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]` (as in `ops.gumbel_softmax`:
            the same seed draws the same noise).

    Returns:
        A pair `(k_hot, indices)`. `k_hot` has the shape and dtype of
        `logits`, exactly `k` ones along `axis` (at the drawn categories),
        zeros elsewhere. `indices` is int32, the shape of `logits` with
        `axis` of size `k` (`[..., k]` for `axis=-1`; for `logits` of shape
        `[n, B]` and `axis=0`, `[k, B]`): taken along `axis`, the drawn
        categories in order of decreasing perturbed logit, a draw of the
        first `k` places of a Plackett-Luce permutation.
    """
    logits, k, axis = _check(logits, k, axis)
    dtype = keras.backend.standardize_dtype(logits.dtype)
    keys = _keys(logits, axis, seed)
    indices = _top_k_indices(ops.stop_gradient(keys), k)
    k_hot = _k_hot(indices, keys.shape[-1], dtype)
    return ops.moveaxis(k_hot, -1, axis), ops.moveaxis(indices, -1, axis)


def relaxed_top_k(logits, k, temperature=1.0, axis=-1, hard=False, seed=None):
    """A relaxed k-hot sample: the relaxed top-k of Xie & Ermon (2019).

    The sum `y = a_1 + ... + a_k` of the `k` successive soft one-hots of
    `relaxed_top_k_steps`, which remove the mass each step chose from the
    perturbed logits `r = logits + g` before the next softmax:

        alpha_1 = r,
        a_j = softmax(alpha_j / temperature),
        alpha_{j+1} = alpha_j + log(1 - a_j).

    `y` sums to `k` along `axis`, and its entries are >= 0. As the
    temperature goes to 0, `y` tends to the k-hot of `gumbel_top_k` with the
    same noise (for distinct perturbed logits), an exact sample without
    replacement. At a positive temperature the relaxation can give an entry
    more than 1 (up to k), as the paper's formula does: the removed
    `log(1 - a_j)` of a category chosen nearly surely is only about its lead
    over the runner-up divided by the temperature, and a step split between
    near ties removes from both; a later step can then choose the category
    again. At `k = n = 2` and `temperature = 1`, for example,
    `y = (p + 1/2, 3/2 - p)` with `p = a_1[0]`. Each step is a point of the
    simplex, so the steps themselves stay in `[0, 1]`.

    With `hard=True` (straight-through) the forward value is exactly the
    k-hot `D` of `gumbel_top_k` for the same seed (the same noise, the same
    subset) and the gradient is the relaxed sample's: `D + y - sg(y)`.

    `-inf` logits mark impossible categories (0 in every step, finite
    gradients) as long as at least `k` categories have finite logits.
    `+inf` logits are not supported by the relaxation (the category would
    be chosen by every step): use a large finite logit.

    Args:
        logits: float tensor of unnormalized log-probabilities. float16 and
            bfloat16 are computed in float32 and returned in their own dtype.
        k: the subset size, an integer in `[1, n]`.
        temperature: a finite number > 0, or a scalar tensor or variable
            (read and checked on every call: see `ops.check_temperature`).
        axis: the categories axis.
        hard: whether to return the exact k-hot with straight-through
            gradients.
        seed: `None`, an integer, a `keras.random.SeedGenerator`, or a
            stateless seed tensor of shape `[2]`.

    Returns:
        A tensor of the shape and dtype of `logits`.
    """
    logits, k, axis = _check(logits, k, axis)
    _checks.check_bool(hard, "hard")
    dtype = keras.backend.standardize_dtype(logits.dtype)
    steps, _ = _top_k_steps(logits, k, temperature, axis, hard, seed)
    return ops.moveaxis(ops.cast(ops.sum(steps, axis=-2), dtype), -1, axis)


def relaxed_top_k_steps(logits, k, temperature=1.0, axis=-1, hard=False, seed=None):
    """The `k` successive soft one-hots `a_1, ..., a_k` of `relaxed_top_k`.

    Step `j` is a point of the simplex over the categories (it sums to 1),
    a relaxation of the one-hot of the `j`-th category that
    `gumbel_top_k` draws with the same seed (`indices[..., j]`); their sum
    is `relaxed_top_k`'s sample. For logits of shape `[n]` the steps are a
    `[k, n]` selection matrix (`ConcreteSelect(method="subset")` uses it).

    With `hard=True` step `j` is exactly the one-hot of `indices[..., j]`,
    with the gradient of the relaxed step (straight-through), so that the
    steps sum to `gumbel_top_k`'s k-hot.

    Args:
        logits, k, temperature, hard, seed: as in `relaxed_top_k`.
        axis: the categories axis `a` of `logits`.

    Returns:
        A tensor of the dtype of `logits`, of shape
        `logits.shape[:a] + (k,) + logits.shape[a:]`: the steps on a new
        axis `a`, the categories after it (`[..., k, n]` for `axis=-1`).
    """
    logits, k, axis = _check(logits, k, axis)
    _checks.check_bool(hard, "hard")
    dtype = keras.backend.standardize_dtype(logits.dtype)
    steps, _ = _top_k_steps(logits, k, temperature, axis, hard, seed)
    return ops.moveaxis(ops.cast(steps, dtype), (-2, -1), (axis, axis + 1))


# -- the cores, on checked arguments: they return the categories on the last axis


def _keys(logits, axis, seed):
    """The perturbed logits `logits + g` in the compute dtype, the noise
    drawn in the layout of `logits` (so a seed draws the same noise as in
    `ops.gumbel_softmax` and `ops.gumbel_max`), the categories axis `axis`
    then moved last."""
    dtype = keras.backend.standardize_dtype(logits.dtype)
    x = ops.cast(logits, _compute_dtype(dtype))
    return ops.moveaxis(x + _gumbel(ops.shape(x), seed, x.dtype), axis, -1)


def _top_k_indices(keys, k):
    """The int32 indices of the `k` largest `keys` along the last axis, in
    decreasing order."""
    return ops.cast(ops.top_k(keys, k, sorted=True)[1], "int32")


def _k_hot(indices, n, dtype):
    """The exact k-hot of distinct `indices` `[..., k]`: `[..., n]`."""
    return ops.sum(ops.one_hot(indices, n, dtype=dtype), axis=-2)


def _top_k_steps(logits, k, temperature, axis, hard, seed):
    """The relaxed steps `[..., k, n]` (straight-through if `hard`) of
    `logits` (categories on `axis`, in `[0, rank)`) and the int32 indices
    `[..., k]` of the exact subset drawn with the same noise, in the compute
    dtype (float32 for half precisions), the categories moved last. The
    temperature is checked here, on every call."""
    trainable = getattr(temperature, "trainable", False)
    keys = _keys(logits, axis, seed)
    temperature = ops.cast(check_temperature(temperature), keys.dtype)
    indices = _top_k_indices(ops.stop_gradient(keys), k)
    soft = _relaxed_steps(keys, k, temperature, trainable)
    if not hard:
        return soft, indices
    return _straight_through(ops.one_hot(indices, keys.shape[-1], dtype=keys.dtype), soft), indices


def _noise_free_steps(logits, k, temperature, axis):
    """The relaxed steps `[..., k, n]` of `logits` without noise (the
    layers' deterministic `inference="softmax"`) and the indices `[..., k]`
    of the top-k logits, as `_top_k_steps` returns them."""
    dtype = keras.backend.standardize_dtype(logits.dtype)
    x = ops.moveaxis(ops.cast(logits, _compute_dtype(dtype)), axis, -1)
    trainable = getattr(temperature, "trainable", False)
    temperature = ops.cast(check_temperature(temperature), x.dtype)
    return _relaxed_steps(x, k, temperature, trainable), _top_k_indices(ops.stop_gradient(x), k)


def _relaxed_steps(keys, k, temperature, trainable):
    """Xie & Ermon's `k` successive softmaxes of `keys / temperature`, the
    mass of each removed (`alpha += log(1 - a)`) before the next:
    `[..., k, n]`."""
    alpha, steps = keys, []
    for step in range(k):
        z = _over_temperature(alpha, temperature, trainable)
        a = ops.softmax(z, axis=-1)
        steps.append(a)
        if step < k - 1:
            alpha = alpha + _log_remaining(z, a)
    return ops.stack(steps, axis=-2)


def _log_remaining(z, a):
    """`log(1 - a)` for `a = softmax(z)` along the last axis, never `-inf`
    where a row has two finite entries, and with finite gradients.

    The naive `log(1 - a)` is `-inf` as soon as the largest entry rounds to
    1 (a gap of 17 in `z` in float32), and clipping `1 - a` to a small
    number then removes too little mass from a category whose logit is far
    above the others: a later step chooses it again. Here the largest entry
    (`i`, the first maximum) gets the exact
    `log(1 - a_i) = log_sigmoid(L)`, `L = log sum_{j != i} exp(z_j - z_i)`,
    which stays finite for any gap; every other entry has `a <= 1/2`, where
    `log1p(-a)` is accurate. Only a row with a single finite entry (fewer
    categories than steps) gets a clipped `L = log(tiny)`.
    """
    top = ops.one_hot(ops.argmax(ops.stop_gradient(z), axis=-1), z.shape[-1], dtype=z.dtype) > 0
    z_top = ops.sum(ops.where(top, z, 0.0), axis=-1, keepdims=True)
    others = ops.where(top, -np.inf, z - z_top)
    # A logsumexp that stays finite (with a zero gradient) when every other
    # entry is -inf, where ops.logsumexp gives NaN gradients.
    shift = ops.stop_gradient(ops.max(others, axis=-1, keepdims=True))
    shift = ops.where(ops.isfinite(shift), shift, 0.0)
    tiny = np.finfo(keras.backend.standardize_dtype(z.dtype)).tiny
    total = ops.sum(ops.exp(others - shift), axis=-1, keepdims=True)
    log_rest = shift + ops.log(ops.maximum(total, tiny))
    # The select's inner argument keeps log1p away from log(0) at the top
    # entry, whose unused gradient would otherwise be NaN.
    return ops.where(top, ops.log_sigmoid(log_rest), ops.log1p(-ops.where(top, 0.0, a)))
