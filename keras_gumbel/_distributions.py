"""The distributions the sampling layers' `distribution()` returns.

Private, and imported only by `distribution()`. A layer's distribution is
the one its training samples (and `inference="sample"` outputs) follow:

| layer | relaxed samples | exact samples (hard estimators, `hard=True`) |
| --- | --- | --- |
| `GumbelSoftmax` | `RelaxedOneHotCategorical` | `OneHotCategorical` |
| `RelaxedBernoulli` | `RelaxedBernoulli` | `Bernoulli` |

On TensorFlow these are TensorFlow Probability's distributions (this module
imports TFP there, on the first call of `distribution()`; `import
keras_gumbel` does not). On JAX and PyTorch they are the small classes
below, built on `keras_gumbel.ops` (the samplers and the densities of
`keras_gumbel._densities`): `sample(sample_shape, seed)`, `log_prob(x)`
and `prob(x)`.

Both kinds score the layer's own samples as the layer returns them:

- whatever their float dtype (a layer samples in its compute dtype, float16
  under a half-precision policy, while its distribution works in float32 at
  least; TFP's `log_prob` fails on another dtype than the distribution's);
- with the categories on the layer's axis (TFP's categorical distributions
  hold them last: the TFP distribution of a `GumbelSoftmax(axis=1)` holds
  the logits with that axis moved last, and its `log_prob`, `prob` and
  `sample` move the categories of their values between the layer's axis
  and TFP's).

So `layer.distribution(logits).log_prob(layer(logits, training=True))`
works for every estimator, axis, dtype and dtype policy; everything else of
the TFP distributions is TFP's (its `batch_shape` and `event_shape` have the
categories last).
"""

import keras
from keras import ops

from keras_gumbel import _checks, _compat
from keras_gumbel import ops as gumbel_ops

BACKEND = keras.backend.backend()

__all__ = [
    "Bernoulli",
    "OneHotCategorical",
    "RelaxedBernoulli",
    "RelaxedOneHotCategorical",
    "bernoulli",
    "one_hot_categorical",
    "relaxed_bernoulli",
    "relaxed_one_hot_categorical",
]


# -- the distributions on every backend, in keras.ops ----------------------------


def _sample_shape(sample_shape):
    if isinstance(sample_shape, int) and not isinstance(sample_shape, bool):
        return (sample_shape,)
    shape = tuple(sample_shape)
    for size in shape:
        _checks.check_int(size, "sample_shape", minimum=0)
    return shape


class _Distribution:
    """A distribution over tensors shaped as `logits` (with
    `sample_shape` dimensions in front for `sample(sample_shape)`)."""

    def __init__(self, logits):
        self.logits = ops.convert_to_tensor(logits)

    @property
    def dtype(self):
        return keras.backend.standardize_dtype(self.logits.dtype)

    def _logits_for(self, sample_shape):
        shape = _sample_shape(sample_shape)
        return shape, ops.broadcast_to(self.logits, shape + tuple(self.logits.shape))

    def prob(self, value):
        """`exp(log_prob(value))`."""
        return ops.exp(self.log_prob(value))

    def __repr__(self):
        return f"<keras_gumbel {type(self).__name__} of logits shape {tuple(self.logits.shape)}, dtype {self.dtype}>"


class RelaxedOneHotCategorical(_Distribution):
    """The relaxed one-hot categorical (Concrete) distribution in `keras.ops`:
    the distribution of `gumbel_softmax(logits, temperature, axis=axis)`
    (Maddison et al. 2017; Jang et al. 2017).

    Args:
        temperature: a finite number >= `MIN_TEMPERATURE`, or a scalar tensor.
        logits: float tensor of unnormalized log-probabilities.
        axis: the categories axis.
    """

    def __init__(self, temperature, logits, axis=-1):
        super().__init__(logits)
        self.temperature = gumbel_ops.check_temperature(temperature)
        self.axis = _checks.check_axis(axis, len(self.logits.shape))

    def sample(self, sample_shape=(), seed=None):
        """Samples of shape `sample_shape + logits.shape` (`seed`: any seed
        `keras_gumbel.ops` takes)."""
        shape, logits = self._logits_for(sample_shape)
        return gumbel_ops.gumbel_softmax(logits, self.temperature, axis=len(shape) + self.axis, seed=seed)

    def log_prob(self, value):
        """`keras_gumbel.ops.relaxed_one_hot_log_prob` at `value` (any float
        dtype, categories on `axis`, leading sample dimensions allowed)."""
        return gumbel_ops.relaxed_one_hot_log_prob(self.logits, self.temperature, value, axis=self.axis)


class OneHotCategorical(_Distribution):
    """The categorical distribution over one-hots, in `keras.ops`: the
    distribution of `gumbel_max(logits, axis=axis)` and of the hard
    estimators of `gumbel_softmax`.

    Args:
        logits: float tensor of unnormalized log-probabilities.
        axis: the categories axis.
    """

    def __init__(self, logits, axis=-1):
        super().__init__(logits)
        self.axis = _checks.check_axis(axis, len(self.logits.shape))

    def sample(self, sample_shape=(), seed=None):
        """Exact one-hots of shape `sample_shape + logits.shape`."""
        shape, logits = self._logits_for(sample_shape)
        return gumbel_ops.gumbel_max(logits, axis=len(shape) + self.axis, seed=seed)

    def log_prob(self, value):
        """`keras_gumbel.ops.categorical_log_prob` at the one-hot `value`."""
        return gumbel_ops.categorical_log_prob(self.logits, value, axis=self.axis)


class RelaxedBernoulli(_Distribution):
    """The relaxed Bernoulli (binary Concrete) distribution in `keras.ops`:
    the distribution of `relaxed_bernoulli(logits, temperature)`.

    Args:
        temperature: a finite number >= `MIN_TEMPERATURE`, or a scalar tensor.
        logits: float tensor of log-odds.
    """

    def __init__(self, temperature, logits):
        super().__init__(logits)
        self.temperature = gumbel_ops.check_temperature(temperature)

    def sample(self, sample_shape=(), seed=None):
        """Samples in (0, 1) of shape `sample_shape + logits.shape`."""
        _, logits = self._logits_for(sample_shape)
        return gumbel_ops.relaxed_bernoulli(logits, self.temperature, seed=seed)

    def log_prob(self, value):
        """`keras_gumbel.ops.relaxed_bernoulli_log_prob` at `value`."""
        return gumbel_ops.relaxed_bernoulli_log_prob(self.logits, self.temperature, value)


class Bernoulli(_Distribution):
    """The Bernoulli distribution over 0/1 floats, in `keras.ops`: the
    distribution of `relaxed_bernoulli(logits, hard=True)`.

    Args:
        logits: float tensor of log-odds.
    """

    def sample(self, sample_shape=(), seed=None):
        """Exact 0/1 values of shape `sample_shape + logits.shape`."""
        _, logits = self._logits_for(sample_shape)
        # The hard value [logits + L > 0] does not depend on the temperature.
        return ops.stop_gradient(gumbel_ops.relaxed_bernoulli(logits, 1.0, hard=True, seed=seed))

    def log_prob(self, value):
        """`keras_gumbel.ops.bernoulli_log_prob` at `value`."""
        return gumbel_ops.bernoulli_log_prob(self.logits, value)


# -- TensorFlow: TFP's distributions, scoring the layers' samples ----------------

if BACKEND == "tensorflow":
    _tfd = _compat.tfp_distributions()

    class _ScoresLayerSamples:
        """Casts the values of `log_prob` and `prob` to the distribution's
        dtype and moves their categories from the layer's axis to TFP's
        last one; moves those of `sample`'s results back.

        `_values_axis`: the layer's categories axis counted from the end
        (`-2` for `axis=1` of a rank-3 input), or `None` where the layout is
        TFP's (the last axis, or no categories axis).
        """

        _values_axis = None

        def _to_tfp(self, value):
            value = ops.cast(value, self.dtype)
            if self._values_axis is not None:
                value = ops.moveaxis(value, self._values_axis, -1)
            return value

        def log_prob(self, value, name="log_prob", **kwargs):
            return super().log_prob(self._to_tfp(value), name=name, **kwargs)

        def prob(self, value, name="prob", **kwargs):
            return super().prob(self._to_tfp(value), name=name, **kwargs)

        def sample(self, sample_shape=(), seed=None, name="sample", **kwargs):
            sample = super().sample(sample_shape, seed=seed, name=name, **kwargs)
            if self._values_axis is not None:
                sample = ops.moveaxis(sample, -1, self._values_axis)
            return sample

    class TFPRelaxedOneHotCategorical(_ScoresLayerSamples, _tfd.RelaxedOneHotCategorical):
        """`tfp.distributions.RelaxedOneHotCategorical` that scores a
        `GumbelSoftmax` layer's samples (`"relaxed"` estimator)."""

    class TFPOneHotCategorical(_ScoresLayerSamples, _tfd.OneHotCategorical):
        """`tfp.distributions.OneHotCategorical` (float one-hots) that scores
        a `GumbelSoftmax` layer's exact one-hots (the hard estimators)."""

    class TFPRelaxedBernoulli(_ScoresLayerSamples, _tfd.RelaxedBernoulli):
        """`tfp.distributions.RelaxedBernoulli` that scores a
        `RelaxedBernoulli` layer's samples."""

    class TFPBernoulli(_ScoresLayerSamples, _tfd.Bernoulli):
        """`tfp.distributions.Bernoulli` (float 0/1 values) that scores a
        `RelaxedBernoulli(hard=True)` layer's samples."""


def _categories_last(logits, axis):
    """`logits` with the categories axis `axis` (in `[0, rank)`) moved last,
    and that axis counted from the end (`None` if it was last already)."""
    end = axis - len(logits.shape)
    if end == -1:
        return logits, None
    return ops.moveaxis(logits, axis, -1), end


def _tfp(cls, values_axis, *args, **kwargs):
    distribution = cls(*args, **kwargs)
    distribution._values_axis = values_axis
    return distribution


def relaxed_one_hot_categorical(temperature, logits, axis):
    """The distribution of a relaxed `GumbelSoftmax` layer's samples, the
    categories on `axis` (in `[0, rank)`)."""
    if BACKEND != "tensorflow":
        return RelaxedOneHotCategorical(temperature, logits, axis)
    logits, end = _categories_last(logits, axis)
    return _tfp(TFPRelaxedOneHotCategorical, end, temperature, logits=logits)


def one_hot_categorical(logits, axis):
    """The distribution of a hard `GumbelSoftmax` layer's exact one-hots."""
    if BACKEND != "tensorflow":
        return OneHotCategorical(logits, axis)
    logits, end = _categories_last(logits, axis)
    return _tfp(TFPOneHotCategorical, end, logits=logits, dtype=logits.dtype)


def relaxed_bernoulli(temperature, logits):
    """The distribution of a `RelaxedBernoulli` layer's relaxed samples."""
    if BACKEND != "tensorflow":
        return RelaxedBernoulli(temperature, logits)
    return _tfp(TFPRelaxedBernoulli, None, temperature, logits=logits)


def bernoulli(logits):
    """The distribution of a `RelaxedBernoulli(hard=True)` layer's samples."""
    if BACKEND != "tensorflow":
        return Bernoulli(logits)
    return _tfp(TFPBernoulli, None, logits=logits, dtype=logits.dtype)
