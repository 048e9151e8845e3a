"""The TFP distributions the sampling layers' `distribution()` returns.

Private, and imported only by `distribution()`: it imports TensorFlow
Probability (its JAX substrate on JAX), which `import keras_gumbel` does
not load.

A layer samples in its compute dtype (float16 or bfloat16 under a
half-precision policy), while its distribution works in float32 at least
(TFP on half precision loses too much); TFP's `log_prob(x)` fails on an `x`
of another dtype than the distribution's. These subclasses cast the value
they score to their own dtype first, so
`layer.distribution(logits).log_prob(layer(logits, training=True))` works
for every dtype and dtype policy. Everything else is TFP's.
"""

from keras import ops

from keras_gumbel import _compat

# TFP itself on TensorFlow, its JAX substrate on JAX; elsewhere an
# ImportError that says what is needed.
_tfd = _compat.tfp_distributions()

__all__ = ["RelaxedBernoulli", "RelaxedOneHotCategorical"]


class _ScoresAnyFloat:
    """Casts the value of `log_prob` and `prob` to the distribution's dtype."""

    def log_prob(self, value, name="log_prob", **kwargs):
        return super().log_prob(ops.cast(value, self.dtype), name=name, **kwargs)

    def prob(self, value, name="prob", **kwargs):
        return super().prob(ops.cast(value, self.dtype), name=name, **kwargs)


class RelaxedOneHotCategorical(_ScoresAnyFloat, _tfd.RelaxedOneHotCategorical):
    """`tfp.distributions.RelaxedOneHotCategorical` that scores samples of
    any float dtype (`GumbelSoftmax.distribution`)."""


class RelaxedBernoulli(_ScoresAnyFloat, _tfd.RelaxedBernoulli):
    """`tfp.distributions.RelaxedBernoulli` that scores samples of any float
    dtype (`RelaxedBernoulli.distribution`)."""
