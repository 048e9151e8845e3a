import numpy as np
import pytest

from keras_gumbel.data import NUMBER_PROBS, number_stream
from tests.helpers import assert_frequencies


def take(dataset, batches):
    return np.stack([b.numpy() for b in dataset.take(batches)])


def test_number_stream_batches_are_one_hots_with_the_frequencies_of_probs():
    batches = take(number_stream(batch_size=2000, seed=3), 10)
    assert batches.shape == (10, 2000, 5) and batches.dtype == np.float32
    samples = batches.reshape(-1, 5)
    np.testing.assert_array_equal(samples.sum(axis=1), 1.0)
    np.testing.assert_array_equal(samples.max(axis=1), 1.0)
    counts = samples.sum(axis=0)
    assert counts[0] == counts[1] == 0  # probability 0 is never drawn
    assert_frequencies(counts, NUMBER_PROBS)


def test_number_stream_other_probs():
    probs = (0.5, 0.25, 0.125, 0.125)
    counts = take(number_stream(probs, batch_size=4000, seed=0), 5).reshape(-1, 4).sum(axis=0)
    assert_frequencies(counts, probs)


def test_number_stream_is_reproducible_from_its_seed():
    a = take(number_stream(batch_size=64, seed=5), 4)
    b = take(number_stream(batch_size=64, seed=5), 4)
    c = take(number_stream(batch_size=64, seed=6), 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Successive batches differ (the stream does not repeat one batch).
    assert not np.array_equal(a[0], a[1])


def test_label_smoothing_softens_the_one_hots():
    s, k = 0.1, 5
    samples = take(number_stream(batch_size=256, seed=1, label_smoothing=s), 2).reshape(-1, k)
    np.testing.assert_allclose(samples.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(samples.max(axis=1), 1 - s + s / k, rtol=1e-6)
    np.testing.assert_allclose(samples.min(axis=1), s / k, rtol=1e-6)
    hard = take(number_stream(batch_size=256, seed=1), 2).reshape(-1, k)
    np.testing.assert_array_equal(samples.argmax(axis=1), hard.argmax(axis=1))


@pytest.mark.parametrize(
    "probs, message",
    [
        ((0.5, -0.1, 0.6), r"probs must be >= 0, received probs=\(0.5, -0.1, 0.6\)"),
        ((0.5, float("nan"), 0.5), r"probs must be finite \(no NaN or inf\), received probs=\(0.5, nan, 0.5\)"),
        ((0.5, float("inf")), "probs must be finite"),
        ((1.0,), r"at least 2 categories, received probs=\(1.0,\)"),
        ((0.5, 0.6), r"sum to 1 \(within 1e-6\), received probs=\(0.5, 0.6\)"),
        ((0.5, 0.5 + 2e-6), "must sum to 1"),
        ([[0.5, 0.5]], "flat sequence"),
        ("abc", "flat sequence"),
    ],
)
def test_bad_probs_are_refused(probs, message):
    with pytest.raises(ValueError, match=message):
        number_stream(probs, batch_size=4)


def test_probs_within_the_tolerance_are_accepted():
    batch = next(iter(number_stream((0.5, 0.5 + 5e-7), batch_size=4, seed=0)))
    assert batch.shape == (4, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1, received batch_size=0"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1"),
    ({"batch_size": True}, "batch_size must be an integer >= 1"),
    ({"batch_size": 4, "label_smoothing": 1.0}, r"label_smoothing must be a number in \[0, 1\)"),
    ({"batch_size": 4, "label_smoothing": -0.1}, "label_smoothing must be"),
    ({"batch_size": 4, "seed": 1.5}, "seed must be None or an integer, received seed=1.5"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        number_stream(**kwargs)
