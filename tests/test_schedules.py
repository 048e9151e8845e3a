import json
import math

import pytest

import keras
from keras_gumbel import schedules


def test_exponential_decay_is_jang_et_al():
    s = schedules.ExponentialDecay(initial=1.0, rate=3e-5, minimum=0.5, every=100)
    assert s(0) == 1.0
    assert s(99) == 1.0  # rounded down to a multiple of `every`
    assert s(100) == pytest.approx(math.exp(-3e-3))
    assert s(12_345) == pytest.approx(math.exp(-3e-5 * 12_300))
    assert s(10**7) == 0.5


def test_linear_and_cosine_decay():
    lin = schedules.LinearDecay(2.0, 0.5, steps=10)
    assert [lin(0), lin(5), lin(10), lin(100)] == pytest.approx([2.0, 1.25, 0.5, 0.5])
    cos = schedules.CosineDecay(2.0, 0.5, steps=10)
    assert [cos(0), cos(5), cos(10), cos(50)] == pytest.approx([2.0, 1.25, 0.5, 0.5])
    assert cos(2) > lin(2)  # cosine starts slower
    assert schedules.Constant(0.3)(123) == 0.3


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(1.0, 1e-3, 0.3, 10),
        schedules.LinearDecay(1.0, 0.1, 50),
        schedules.CosineDecay(1.0, 0.1, 50),
        schedules.Constant(0.7),
    ],
)
def test_serialization_round_trip(schedule):
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(schedule)))
    clone = schedules.get(config)
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    assert [clone(t) for t in (0, 7, 1000)] == [schedule(t) for t in (0, 7, 1000)]


def test_get_accepts_numbers_and_callables():
    assert schedules.get(0.5)(10) == 0.5
    fn = lambda t: 1.0  # noqa: E731
    assert schedules.get(fn) is fn


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: schedules.ExponentialDecay(initial=0.0), "initial must be a finite number > 0, received initial=0.0"),
        (lambda: schedules.ExponentialDecay(rate=-1), "rate must be a finite number >= 0, received rate=-1"),
        (lambda: schedules.ExponentialDecay(minimum=float("inf")), "minimum must be a finite number > 0"),
        (lambda: schedules.ExponentialDecay(every=0), "every must be an integer >= 1, received every=0"),
        (lambda: schedules.LinearDecay(1.0, -0.5, 10), "final must be a finite number > 0, received final=-0.5"),
        (lambda: schedules.CosineDecay(1.0, 0.5, 2.5), "steps must be an integer >= 1, received steps=2.5"),
        (lambda: schedules.Constant("a"), "value must be a finite number > 0"),
        (lambda: schedules.Constant(1.0)(-1), "step must be a finite number >= 0, received step=-1"),
        (lambda: schedules.LinearDecay(1.0, 0.5, 10)(float("nan")), "step must be a finite number >= 0"),
        (
            lambda: schedules.get("fast"),
            (
                r"^schedule must be a callable step -> float \(e\.g\. keras_gumbel\.schedules\.ExponentialDecay\(\)\), "
                r"a number or a serialized schedule, received schedule='fast'$"
            ),
        ),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_exponential_decay_defaults_are_the_pytorch_tutorials():
    # Documented defaults: initial 1.0, rate 3e-5, minimum 0.5, every step.
    s = schedules.ExponentialDecay()
    assert s.get_config() == {"initial": 1.0, "rate": 3e-5, "minimum": 0.5, "every": 1}
    assert s(1) == pytest.approx(math.exp(-3e-5))


SCHEDULES = {
    "ExponentialDecay": (schedules.ExponentialDecay, {"initial": 1.0, "rate": 1e-3, "minimum": 0.5, "every": 2}),
    "LinearDecay": (schedules.LinearDecay, {"initial": 1.0, "final": 0.5, "steps": 10}),
    "CosineDecay": (schedules.CosineDecay, {"initial": 1.0, "final": 0.5, "steps": 10}),
    "Constant": (schedules.Constant, {"value": 0.5}),
}
BAD = {"initial": 0.0, "final": -1.0, "minimum": float("nan"), "value": float("inf"), "rate": -1.0, "every": 0, "steps": 1.5}


@pytest.mark.parametrize(
    "name, argument",
    [(name, arg) for name, (_, kwargs) in SCHEDULES.items() for arg in kwargs],
)
def test_every_argument_of_every_schedule_is_checked_by_its_name(name, argument):
    cls, kwargs = SCHEDULES[name]
    bad = BAD[argument]
    with pytest.raises(ValueError, match=rf"^{argument} must be .*, received {argument}={bad!r}$"):
        cls(**{**kwargs, argument: bad})


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_refuses_a_negative_step_by_its_name(name):
    cls, kwargs = SCHEDULES[name]
    with pytest.raises(ValueError, match=r"^step must be a finite number >= 0, received step=-3$"):
        cls(**kwargs)(-3)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_repr_shows_the_config(name):
    cls, kwargs = SCHEDULES[name]
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    assert repr(cls(**kwargs)) == f"{name}({args})"
