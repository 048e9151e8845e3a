"""Argument checks: the one place values are validated, with one message.

Every check raises `ValueError("NAME must be ..., received NAME=VALUE")` and
returns the value in its canonical Python type. A value is checked once,
where it enters the package (a constructor, a config, a function's public
boundary), and again only where it reaches a variable (a temperature
assigned by a schedule).

Pure Python: importing this module imports nothing heavy (the one check
of tensors imports TensorFlow when it is called).
"""

import math
import numbers

__all__ = [
    "MIN_TEMPERATURE",
    "check_axis",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_int",
    "check_nonnegative",
    "check_optional_int",
    "check_positive",
    "check_scalar",
    "check_seed",
    "check_temperature",
    "check_tensor_range",
    "check_units",
    "fail",
]

# The smallest temperature a sampler takes. Below it, `(logits + g) /
# temperature` overflows float32 (3.4e38) for logits of a few units, the
# overflowed entries tie, and the "sample" is a uniform vector instead of a
# one-hot (1e-45 is float32's smallest number; 1e-46 rounds to 0). Down to
# 1e-30 every logit of magnitude < 3e8 stays finite, so a sample is the
# (near) one-hot of `argmax(logits + g)` that a tiny temperature asks for.
MIN_TEMPERATURE = 1e-30


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


def check_finite(value, name):
    """`value` as a float, if it is a finite real number (not a bool)."""
    if not _is_real(value) or not math.isfinite(value):
        fail(name, "a finite number", value)
    return float(value)


def check_fraction(value, name, allowed="a number in [0, 1)"):
    """`value` as a `float`, if it is a real number in `[0, 1)` (a rate,
    a momentum); `allowed` is the message's description of it."""
    if not _is_real(value) or not 0 <= value < 1:  # also False for NaN
        fail(name, allowed, value)
    return float(value)


def check_nonnegative(value, name):
    """`value` as a `float`, if it is a finite real number >= 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        fail(name, "a finite number >= 0", value)
    return float(value)


def check_temperature(value, name="temperature"):
    """A temperature: one finite number >= `MIN_TEMPERATURE` (1e-30), as a
    `float`.

    A number with a shape (a list, an array: a temperature per category or
    per example) is refused for its shape; a number <= 0, NaN or inf as not
    a finite number > 0; one in `(0, 1e-30)` for the floor.
    """
    check_scalar(value, name)
    value = check_positive(value, name)
    if value < MIN_TEMPERATURE:
        fail(
            name,
            f"a finite number >= {MIN_TEMPERATURE:g} (smaller ones overflow "
            f"float32 in (logits + noise) / {name})",
            value,
        )
    return value


def check_scalar(value, name):
    """`value` if it has no shape (a number, or a tensor, variable or array
    of shape `()`); else the package's `ValueError`, naming the shape."""
    shape = _shape_of(value)
    if shape:
        raise ValueError(
            f"{name} must be a scalar (one number, or a tensor or variable of "
            f"shape ()), received {name} of shape {shape}"
        )
    return value


def _shape_of(value):
    """The shape of an array-like `value` as a tuple (`()` for a scalar and
    for anything without a shape)."""
    if isinstance(value, (list, tuple)):
        return (len(value),) + (_shape_of(value[0]) if value else ())
    try:
        return tuple(getattr(value, "shape", ()))
    except (TypeError, ValueError):  # a shape of None, a TensorShape of unknown rank
        return ()


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
        units = ()
    if not units or not all(
        isinstance(u, numbers.Integral) and not isinstance(u, bool) and u >= 1 for u in units
    ):
        fail(name, "a non-empty sequence of integers >= 1 (the hidden layer sizes)", value)
    return tuple(int(u) for u in units)


def check_tensor_range(x, name, minimum, maximum, allowed):
    """`x` as a TensorFlow tensor, if its values are finite and in
    `[minimum, maximum]`; `allowed` says so in the message
    (`"finite pixel values in [0, 1]"`).

    Eagerly the values are read and a bad one raises the package's
    `ValueError` (`NAME must be ALLOWED, received NAME with values in
    [-1, 10]`). In a traced graph (`tf.function`, a SavedModel signature)
    the check is TensorFlow assertions the returned tensor depends on:
    running the graph on a bad value raises `tf.errors.InvalidArgumentError`
    with the same text. (XLA drops assertions: compiled code is not checked.)
    The cost is a pass over `x`; the training steps do not call it.
    """
    import numpy as np
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    message = f"{name} must be {allowed}"
    if tf.executing_eagerly():
        values = x.numpy()
        if values.size:
            # Two reductions, no copy: min and max are NaN if a value is.
            low, high = values.min(), values.max()
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError(f"{message}, received {name} holding NaN or infinite values")
            if low < minimum or high > maximum:
                raise ValueError(f"{message}, received {name} with values in [{low!s}, {high!s}]")
        return x
    checks = []
    if x.dtype.is_floating:
        checks.append(tf.debugging.assert_all_finite(x, f"{message}, received {name} holding NaN or inf"))
    bound = f"{message}, received {name} with a value outside [{minimum}, {maximum}]"
    checks.append(tf.debugging.assert_greater_equal(x, tf.cast(minimum, x.dtype), message=bound))
    checks.append(tf.debugging.assert_less_equal(x, tf.cast(maximum, x.dtype), message=bound))
    with tf.control_dependencies(checks):
        return tf.identity(x)
