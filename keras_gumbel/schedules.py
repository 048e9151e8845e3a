"""Temperature schedules: plain callables `step -> float`.

A `TemperatureScheduler` callback calls a schedule with the global training
step (or the epoch) and assigns the result to the `GumbelSoftmax` layers'
temperature. Any callable `step -> float` works where a schedule is expected;
these classes add argument checks and `get_config` for serialization.
"""

import math
import numbers

import keras

from keras_gumbel import _checks

__all__ = [
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "LinearDecay",
    "TemperatureSchedule",
]


class TemperatureSchedule:
    """Base class: `__call__(step) -> float` and `get_config()`."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="keras_gumbel")
class Constant(TemperatureSchedule):
    """`tau(t) = value`."""

    def __init__(self, value):
        self.value = _checks.check_temperature(value, "value")

    def __call__(self, step):
        _checks.check_nonnegative(step, "step")
        return self.value

    def get_config(self):
        return {"value": self.value}


@keras.saving.register_keras_serializable(package="keras_gumbel")
class ExponentialDecay(TemperatureSchedule):
    """The schedule of Jang et al. 2017 (section 4.3):

    `tau(t) = max(minimum, initial * exp(-rate * t0))`, where `t0` is `t`
    rounded down to a multiple of `every` (they update every N = 500 steps;
    the PyTorch tutorial every 100 with rate 3e-5 and minimum 0.5).

    Args:
        initial: temperature at step 0, a finite number > 0.
        rate: decay rate per step, a finite number >= 0.
        minimum: floor of the temperature, a finite number > 0.
        every: update period in steps, an integer >= 1.
    """

    def __init__(self, initial=1.0, rate=3e-5, minimum=0.5, every=1):
        self.initial = _checks.check_temperature(initial, "initial")
        self.rate = _checks.check_nonnegative(rate, "rate")
        self.minimum = _checks.check_temperature(minimum, "minimum")
        self.every = _checks.check_int(every, "every")

    def __call__(self, step):
        _checks.check_nonnegative(step, "step")
        t0 = (step // self.every) * self.every
        return max(self.minimum, self.initial * math.exp(-self.rate * t0))

    def get_config(self):
        return {
            "initial": self.initial,
            "rate": self.rate,
            "minimum": self.minimum,
            "every": self.every,
        }


class _Interpolation(TemperatureSchedule):
    def __init__(self, initial, final, steps):
        self.initial = _checks.check_temperature(initial, "initial")
        self.final = _checks.check_temperature(final, "final")
        self.steps = _checks.check_int(steps, "steps")

    def _weight(self, fraction):
        raise NotImplementedError

    def __call__(self, step):
        _checks.check_nonnegative(step, "step")
        fraction = min(step, self.steps) / self.steps
        w = self._weight(fraction)
        return self.final + (self.initial - self.final) * w

    def get_config(self):
        return {"initial": self.initial, "final": self.final, "steps": self.steps}


@keras.saving.register_keras_serializable(package="keras_gumbel")
class LinearDecay(_Interpolation):
    """`tau(t) = initial + (final - initial) * min(t, steps) / steps`."""

    def _weight(self, fraction):
        return 1.0 - fraction


@keras.saving.register_keras_serializable(package="keras_gumbel")
class CosineDecay(_Interpolation):
    """`tau(t) = final + (initial - final) * (1 + cos(pi * min(t, steps) / steps)) / 2`."""

    def _weight(self, fraction):
        return 0.5 * (1.0 + math.cos(math.pi * fraction))


def get(identifier):
    """A schedule from a schedule, a callable, a number or a config dict."""
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, bool):
        return Constant(identifier)
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if callable(identifier):
        return identifier
    _checks.fail(
        "schedule",
        "a callable step -> float (e.g. keras_gumbel.schedules.ExponentialDecay()), "
        "a number or a serialized schedule",
        identifier,
    )
