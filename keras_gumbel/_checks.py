"""Argument checks: the one place values are validated, with one message.

Every check raises `ValueError("NAME must be ..., received NAME=VALUE")` and
returns the value in its canonical Python type. A value is checked once,
where it enters the package (a constructor, a config, a function's public
boundary), and again only where it reaches a variable (a temperature
assigned by a schedule).

Pure Python: importing this module imports nothing heavy.
"""

import math
import numbers

__all__ = [
    "check_axis",
    "check_bool",
    "check_choice",
    "check_int",
    "check_nonnegative",
    "check_optional_int",
    "check_positive",
    "check_seed",
    "check_temperature",
    "check_units",
    "fail",
]


def fail(name, allowed, value):
    """Raises the package's `ValueError`: `NAME must be ALLOWED, received NAME=VALUE`."""
    raise ValueError(f"{name} must be {allowed}, received {name}={value!r}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(value, name):
    """`value` if it is `True` or `False` (not 0, 1 or None)."""
    if not isinstance(value, bool):
        fail(name, "True or False", value)
    return value


def check_int(value, name, minimum=1, maximum=None):
    """`value` as an `int`, if it is an integer (not a bool) in `[minimum, maximum]`
    (`minimum=None`: no lower bound)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        if minimum is None:
            allowed = "an integer" if maximum is None else f"an integer <= {maximum}"
        elif maximum is None:
            allowed = f"an integer >= {minimum}"
        else:
            allowed = f"an integer in [{minimum}, {maximum}]"
        fail(name, allowed, value)
    return int(value)


def check_axis(value, rank, name="axis"):
    """`value` as an axis in `[0, rank)`, if it is an integer in `[-rank, rank)`
    (an axis of a tensor of rank `rank`, counted from the end when negative)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not -rank <= value < rank:
        fail(name, f"an integer in [{-rank}, {rank}) for inputs of rank {rank}", value)
    return int(value) % rank


def check_optional_int(value, name, minimum=1):
    """`None`, or `check_int(value, name, minimum)`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        fail(name, f"None or an integer >= {minimum}", value)
    return int(value)


def check_positive(value, name):
    """`value` as a `float`, if it is a finite real number > 0."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        fail(name, "a finite number > 0", value)
    return float(value)


def check_nonnegative(value, name):
    """`value` as a `float`, if it is a finite real number >= 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        fail(name, "a finite number >= 0", value)
    return float(value)


def check_temperature(value, name="temperature"):
    """A temperature: a finite number > 0, as a `float`."""
    return check_positive(value, name)


def check_choice(value, name, choices):
    """`value` if it is one of `choices` (compared with `==`, bools apart)."""
    for choice in choices:
        if value == choice and isinstance(value, bool) == isinstance(choice, bool):
            return value
    fail(name, f"one of {tuple(choices)}", value)


def check_seed(value, name="seed", minimum=None):
    """`None` or an integer that Keras' `SeedGenerator` takes (a signed
    64-bit integer), `>= minimum` if given."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or (minimum is not None and value < minimum)
    ):
        fail(name, "None or an integer" + ("" if minimum is None else f" >= {minimum}"), value)
    if not -(2**63) <= value < 2**63:
        lowest = "-2**63" if minimum is None else minimum
        fail(name, f"None or an integer in [{lowest}, 2**63 - 1] (a 64-bit seed)", value)
    return int(value)


def check_units(value, name):
    """A non-empty sequence of integers >= 1 (hidden layer sizes), as a tuple."""
    try:
        units = tuple(value)
    except TypeError:
        units = None
    if not units or not all(
        isinstance(u, numbers.Integral) and not isinstance(u, bool) and u >= 1 for u in units
    ):
        fail(name, "a non-empty sequence of integers >= 1 (the hidden layer sizes)", value)
    return tuple(int(u) for u in units)
