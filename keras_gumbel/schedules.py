"""Temperature schedules: plain callables `step -> float`.

A `TemperatureScheduler` callback calls a schedule with the global training
step (or the epoch) and assigns the result to the `GumbelSoftmax` layers'
temperature. Any callable `step -> float` works where a schedule is expected;
these classes add argument checks and `get_config` for serialization.
"""

import math
import numbers

import keras

from keras_gumbel.ops import validate_temperature

__all__ = [
    "Constant",
    "CosineDecay",
    "ExponentialDecay",
    "LinearDecay",
    "TemperatureSchedule",
]


def _check_step(step):
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or step < 0:
        raise ValueError(f"step must be a number >= 0, received step={step!r}")
    return step


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, received {name}={value!r}")
    return int(value)


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
        self.value = validate_temperature(value, "value")

    def __call__(self, step):
        _check_step(step)
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
        self.initial = validate_temperature(initial, "initial")
        if (
            isinstance(rate, bool)
            or not isinstance(rate, numbers.Real)
            or not math.isfinite(rate)
            or rate < 0
        ):
            raise ValueError(f"rate must be a finite number >= 0, received rate={rate!r}")
        self.rate = float(rate)
        self.minimum = validate_temperature(minimum, "minimum")
        self.every = _positive_int(every, "every")

    def __call__(self, step):
        step = _check_step(step)
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
        self.initial = validate_temperature(initial, "initial")
        self.final = validate_temperature(final, "final")
        self.steps = _positive_int(steps, "steps")

    def _weight(self, fraction):
        raise NotImplementedError

    def __call__(self, step):
        fraction = min(_check_step(step), self.steps) / self.steps
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
    raise ValueError(
        "schedule must be a callable step -> float (e.g. "
        "keras_gumbel.schedules.ExponentialDecay()), a number or a serialized "
        f"schedule, received schedule={identifier!r}"
    )
