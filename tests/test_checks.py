"""The argument checks (`keras_gumbel._checks`): what each accepts, the
canonical type it returns, where its bounds lie (inclusive or not), and the
exact message of each refusal, which every public check of the package
repeats (`NAME must be ALLOWED, received NAME=VALUE`)."""

import math
import re

import numpy as np
import pytest

from keras_gumbel import _checks as c


def refused(message):
    return pytest.raises(ValueError, match="^" + re.escape(message) + "$")


def test_fail_says_name_allowed_and_value():
    with refused("size must be an integer >= 1, received size='big'"):
        c.fail("size", "an integer >= 1", "big")


def test_check_bool():
    assert c.check_bool(True, "flag") is True
    assert c.check_bool(False, "flag") is False
    for value in (0, 1, None, "True"):
        with refused(f"flag must be True or False, received flag={value!r}"):
            c.check_bool(value, "flag")


def test_check_int_bounds_are_inclusive_and_the_type_canonical():
    value = c.check_int(np.int64(3), "n", minimum=3, maximum=5)
    assert value == 3 and type(value) is int
    assert c.check_int(5, "n", minimum=3, maximum=5) == 5
    assert c.check_int(1, "n") == 1  # the default minimum is 1
    assert c.check_int(-7, "n", minimum=None) == -7
    assert c.check_int(-7, "n", minimum=None, maximum=-7) == -7
    with refused("n must be an integer >= 1, received n=0"):
        c.check_int(0, "n")
    with refused("n must be an integer in [3, 5], received n=2"):
        c.check_int(2, "n", minimum=3, maximum=5)
    with refused("n must be an integer in [3, 5], received n=6"):
        c.check_int(6, "n", minimum=3, maximum=5)
    with refused("n must be an integer <= 4, received n=5"):
        c.check_int(5, "n", minimum=None, maximum=4)
    with refused("n must be an integer, received n=2.0"):
        c.check_int(2.0, "n", minimum=None)
    for value in (True, 2.0, "2", None):
        with refused(f"n must be an integer >= 0, received n={value!r}"):
            c.check_int(value, "n", minimum=0)


def test_check_axis_counts_negative_axes_from_the_end():
    assert [c.check_axis(a, 3) for a in (-3, -1, 0, 2)] == [0, 2, 0, 2]
    assert type(c.check_axis(np.int32(-1), 2)) is int
    for value in (3, -4, True, 1.0):
        with refused(f"axis must be an integer in [-3, 3) for inputs of rank 3, received axis={value!r}"):
            c.check_axis(value, 3)
    with refused("dim must be an integer in [-1, 1) for inputs of rank 1, received dim=1"):
        c.check_axis(1, 1, name="dim")


def test_check_optional_int():
    assert c.check_optional_int(None, "k") is None
    value = c.check_optional_int(np.int64(1), "k")
    assert value == 1 and type(value) is int
    assert c.check_optional_int(0, "k", minimum=0) == 0
    for value in (0, True, 1.5):
        with refused(f"k must be None or an integer >= 1, received k={value!r}"):
            c.check_optional_int(value, "k")
    with refused("k must be None or an integer >= 2, received k=1"):
        c.check_optional_int(1, "k", minimum=2)


def test_check_positive_finite_and_nonnegative():
    tiny = 5e-324
    value = c.check_positive(np.float32(2.5), "rate")
    assert value == 2.5 and type(value) is float
    assert c.check_positive(tiny, "rate") == tiny
    assert type(c.check_positive(3, "rate")) is float
    for value in (0, -tiny, math.inf, math.nan, True, "1", None):
        with refused(f"rate must be a finite number > 0, received rate={value!r}"):
            c.check_positive(value, "rate")
    assert c.check_finite(-2, "shift") == -2.0 and type(c.check_finite(-2, "shift")) is float
    assert c.check_finite(0.0, "shift") == 0.0
    for value in (math.inf, -math.inf, math.nan, False):
        with refused(f"shift must be a finite number, received shift={value!r}"):
            c.check_finite(value, "shift")
    assert c.check_nonnegative(0, "weight") == 0.0 and type(c.check_nonnegative(0, "weight")) is float
    assert c.check_nonnegative(tiny, "weight") == tiny
    for value in (-tiny, math.inf, math.nan, True):
        with refused(f"weight must be a finite number >= 0, received weight={value!r}"):
            c.check_nonnegative(value, "weight")


def test_check_temperature_floor_is_inclusive():
    assert c.MIN_TEMPERATURE == 1e-30
    assert c.check_temperature(1e-30) == 1e-30
    assert c.check_temperature(np.float64(0.5)) == 0.5
    assert type(c.check_temperature(2)) is float
    floor = "a finite number >= 1e-30 (smaller ones overflow float32 in (logits + noise) / tau)"
    for value in (9.9e-31, 1e-45):
        with refused(f"tau must be {floor}, received tau={value!r}"):
            c.check_temperature(value, "tau")
    with refused("temperature must be a finite number > 0, received temperature=0"):
        c.check_temperature(0)
    with refused("temperature must be a scalar (one number, or a tensor or variable of shape ()), "
                 "received temperature of shape (3,)"):
        c.check_temperature([0.5, 1.0, 2.0])


def test_check_scalar_names_the_shape():
    assert c.check_scalar(2.0, "t") == 2.0
    scalar = np.float32(1.5)
    assert c.check_scalar(scalar, "t") is scalar
    assert c.check_scalar(np.array(1.0), "t") == 1.0
    for value, shape in (([], (0,)), ([1.0, 2.0], (2,)), ([[1.0], [2.0], [3.0]], (3, 1)), ((np.zeros(2),), (1, 2)),
                         (np.zeros((2, 4)), (2, 4))):
        with refused("t must be a scalar (one number, or a tensor or variable of shape ()), "
                     f"received t of shape {shape}"):
            c.check_scalar(value, "t")


def test_shape_of():
    class UnknownRank:
        shape = property(lambda self: _Unknown())

    class _Unknown:
        def __iter__(self):
            raise ValueError("unknown rank")

    assert c._shape_of(3) == ()
    assert c._shape_of(np.float64(3.0)) == ()  # a numpy scalar has shape () and is a Number
    assert c._shape_of([]) == (0,)
    assert c._shape_of([[1, 2, 3], [4, 5, 6]]) == (2, 3)
    assert c._shape_of(((1,),)) == (1, 1)
    assert c._shape_of(np.zeros((0, 5))) == (0, 5)
    assert c._shape_of(object()) == ()
    assert c._shape_of(UnknownRank()) == ()

    class NoIter:
        shape = 7  # not iterable: TypeError

    assert c._shape_of(NoIter()) == ()


def test_check_choice_keeps_bools_apart():
    assert c.check_choice("b", "mode", ("a", "b")) == "b"
    assert c.check_choice(True, "jit", (True, False, "auto")) is True
    assert c.check_choice(1, "k", (1, 2)) == 1
    with refused("mode must be one of ('a', 'b'), received mode='c'"):
        c.check_choice("c", "mode", ["a", "b"])
    with refused("k must be one of (1, 2), received k=True"):
        c.check_choice(True, "k", (1, 2))
    with refused("jit must be one of (True, False), received jit=1"):
        c.check_choice(1, "jit", (True, False))


def test_check_seed_takes_signed_64_bit_integers():
    assert c.check_seed(None) is None
    for value in (0, -(2**63), 2**63 - 1):
        assert c.check_seed(value) == value
    value = c.check_seed(np.uint8(7), minimum=7)
    assert value == 7 and type(value) is int
    for value in (1.0, True, "1"):
        with refused(f"seed must be None or an integer, received seed={value!r}"):
            c.check_seed(value)
    with refused("s must be None or an integer >= 0, received s=-1"):
        c.check_seed(-1, "s", minimum=0)
    with refused(f"seed must be None or an integer in [-2**63, 2**63 - 1] (a 64-bit seed), received seed={2**63}"):
        c.check_seed(2**63)
    with refused(f"seed must be None or an integer in [-2**63, 2**63 - 1] (a 64-bit seed), "
                 f"received seed={-(2**63) - 1}"):
        c.check_seed(-(2**63) - 1)
    with refused(f"s must be None or an integer in [0, 2**63 - 1] (a 64-bit seed), received s={2**64}"):
        c.check_seed(2**64, "s", minimum=0)


def test_check_units():
    units = c.check_units([np.int64(3), 1], "hidden")
    assert units == (3, 1) and all(type(u) is int for u in units)
    assert c.check_units(range(2, 4), "hidden") == (2, 3)
    allowed = "a non-empty sequence of integers >= 1 (the hidden layer sizes)"
    for value in ((), 5, (3, 0), (True,), (2.0,), None):
        with refused(f"hidden must be {allowed}, received hidden={value!r}"):
            c.check_units(value, "hidden")


@pytest.mark.tensorflow_only
def test_check_tensor_range_eagerly():
    import tensorflow as tf

    x = c.check_tensor_range([0.0, 0.5, 1.0], "pixels", 0.0, 1.0, "finite pixel values in [0, 1]")
    assert isinstance(x, tf.Tensor) and x.numpy().tolist() == [0.0, 0.5, 1.0]
    assert c.check_tensor_range(tf.zeros([0]), "pixels", 0.0, 1.0, "in [0, 1]").shape == (0,)
    assert c.check_tensor_range([3, 3], "ids", 3, 3, "ids in [3, 3]").numpy().tolist() == [3, 3]
    with refused("pixels must be in [0, 1], received pixels holding NaN or infinite values"):
        c.check_tensor_range([0.5, math.nan], "pixels", 0.0, 1.0, "in [0, 1]")
    with refused("pixels must be in [0, 1], received pixels holding NaN or infinite values"):
        c.check_tensor_range([0.5, -math.inf], "pixels", 0.0, 1.0, "in [0, 1]")
    with refused("pixels must be in [0, 1], received pixels with values in [-1.0, 0.5]"):
        c.check_tensor_range([-1.0, 0.5], "pixels", 0.0, 1.0, "in [0, 1]")
    with refused("pixels must be in [0, 1], received pixels with values in [0.5, 10.0]"):
        c.check_tensor_range([0.5, 10.0], "pixels", 0.0, 1.0, "in [0, 1]")


@pytest.mark.tensorflow_only
def test_check_tensor_range_in_a_graph_is_assertions():
    import tensorflow as tf

    check = tf.function(lambda x: c.check_tensor_range(x, "pixels", 0.0, 1.0, "in [0, 1]") * 2)
    assert check(tf.constant([0.0, 0.5, 1.0])).numpy().tolist() == [0.0, 1.0, 2.0]
    for bad, text in (([0.5, math.nan], "received pixels holding NaN or inf"),
                      ([0.5, 1.5], "received pixels with a value outside [0.0, 1.0]"),
                      ([-0.5, 0.5], "received pixels with a value outside [0.0, 1.0]")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape("pixels must be in [0, 1], " + text)):
            check(tf.constant(bad))
    ints = tf.function(lambda x: c.check_tensor_range(x, "ids", 0, 4, "ids in [0, 4]"))
    assert ints(tf.constant([0, 4])).numpy().tolist() == [0, 4]
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape("received ids with a value outside [0, 4]")):
        ints(tf.constant([5]))


def test_check_fraction_takes_numbers_in_the_half_open_unit_interval():
    assert c.check_fraction(0, "rate") == 0.0 and type(c.check_fraction(0, "rate")) is float
    assert c.check_fraction(np.float32(0.5), "rate") == 0.5
    below_one = math.nextafter(1.0, 0.0)
    assert c.check_fraction(below_one, "rate") == below_one
    for value in (1, 1.0, -5e-324, math.nan, math.inf, True, "0.5", None):
        with refused(f"rate must be a number in [0, 1), received rate={value!r}"):
            c.check_fraction(value, "rate")
    with refused("m must be a number in [0, 1) (0: off), received m=2"):
        c.check_fraction(2, "m", "a number in [0, 1) (0: off)")
