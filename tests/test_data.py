import numpy as np
import pytest

from keras_gumbel.apps.common import mnist as data_lib
from keras_gumbel.data import NUMBER_PROBS, number_stream
from helpers import assert_frequencies


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


# -- MNIST ---------------------------------------------------------------------


def write_npz(path, n_train=30, n_test=10, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test),
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path, arrays


def test_load_mnist_from_npz_gives_flat_float_batches_in_0_1(tmp_path):
    path, arrays = write_npz(tmp_path / "mnist.npz")
    ds = data_lib.load_mnist("test", source=str(path), batch_size=4)
    batches = [b.numpy() for b in ds]
    assert [b.shape for b in batches] == [(4, 784), (4, 784), (2, 784)]
    assert all(b.dtype == np.float32 for b in batches)
    np.testing.assert_allclose(
        np.concatenate(batches), arrays["x_test"].reshape(10, 784) / 255.0, rtol=1e-6
    )


def test_binarize_static_and_dynamic(tmp_path):
    path, arrays = write_npz(tmp_path / "mnist.npz", n_train=200)
    grey = arrays["x_train"].reshape(200, 784) / 255.0
    static = np.concatenate(list(data_lib.load_mnist(
        "train", source=str(path), binarize="static", batch_size=50, shuffle=False)))
    np.testing.assert_array_equal(static, (grey > 0.5).astype(np.float32))
    ds = data_lib.load_mnist("train", source=str(path), binarize="dynamic", batch_size=200,
                             shuffle=False, seed=3)
    epoch1, epoch2 = (next(iter(ds)).numpy() for _ in range(2))
    assert set(np.unique(epoch1)) <= {0.0, 1.0}
    assert not np.array_equal(epoch1, epoch2)  # fresh draws every epoch
    # Each pixel is Bernoulli(grey): the mean of 156,800 draws is within 5
    # sigma of the mean grey level.
    n = epoch1.size
    assert abs(epoch1.mean() - grey.mean()) < 5 * np.sqrt(0.25 / n)
    again = next(iter(data_lib.load_mnist("train", source=str(path), binarize="dynamic",
                                          batch_size=200, shuffle=False, seed=3))).numpy()
    np.testing.assert_array_equal(again, epoch1)  # same seed, same draws


def test_shuffle_permutes_every_epoch_reproducibly(tmp_path):
    path, arrays = write_npz(tmp_path / "mnist.npz", n_train=40)
    ds = data_lib.load_mnist("train", source=str(path), batch_size=40, seed=1)
    first, second = (next(iter(ds)).numpy() for _ in range(2))
    rows = {r.tobytes() for r in (arrays["x_train"].reshape(40, 784) / 255.0).astype(np.float32)}
    assert {r.tobytes() for r in first} == rows  # a permutation of the images
    assert not np.array_equal(first, second)


def test_bundled_subset_is_a_deterministic_stratified_split():
    train_x, train_y = data_lib.mnist_arrays("train", "bundled")
    test_x, test_y = data_lib.mnist_arrays("test", "bundled")
    assert train_x.shape == (4000, 784) and test_x.shape == (1000, 784)
    assert train_x.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(train_y), [400] * 10)
    np.testing.assert_array_equal(np.bincount(test_y), [100] * 10)
    assert not ({r.tobytes() for r in train_x} & {r.tobytes() for r in test_x})
    again, _ = data_lib.mnist_arrays("train", "bundled")
    np.testing.assert_array_equal(again, train_x)


def test_auto_falls_back_to_bundled_without_touching_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    probes = []
    monkeypatch.setattr(data_lib, "network_available", lambda *a, **k: probes.append(1) or False)

    def no_socket(*args, **kwargs):
        raise AssertionError("the network was touched")

    monkeypatch.setattr(data_lib.socket, "create_connection", no_socket)
    with pytest.warns(UserWarning, match="BUNDLED SUBSET"):
        assert data_lib.resolve_mnist_source("auto") == "bundled"
    assert probes == [1]


def test_auto_prefers_the_keras_cache_and_prepared_tfds(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(data_lib, "network_available", lambda *a, **k: False)
    cache = tmp_path / "keras" / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    write_npz(cache)
    assert data_lib.resolve_mnist_source("auto") == str(cache)
    info = tmp_path / "tfds" / "mnist" / "3.0.1" / "dataset_info.json"
    info.parent.mkdir(parents=True)
    info.write_text("{}")
    assert data_lib.resolve_mnist_source("auto") == "tfds"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"x_test": None}, r"lacks the keys \['x_test'\]"),
        ({"x_test": np.zeros((10, 27, 28), np.uint8)}, "must be MNIST images of shape"),
        ({"x_test": np.full((10, 28, 28), 300.0)}, r"integer pixel values in \[0, 255\]"),
        ({"y_test": np.zeros(9, np.int64)}, "one per image"),
    ],
)
def test_bad_npz_files_are_refused(tmp_path, overrides, message):
    path, _ = write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ValueError, match=message):
        data_lib.load_mnist("test", source=str(path))


def test_corrupt_and_missing_files_are_refused(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(ValueError, match=r"is not an .npz file \(not a zip archive, or a truncated one\)"):
        data_lib.load_mnist("train", source=str(corrupt))
    with pytest.raises(FileNotFoundError, match="which is not a file"):
        data_lib.load_mnist("train", source=str(tmp_path / "missing.npz"))
    with pytest.raises(ValueError, match="split must be one of"):
        data_lib.load_mnist("validation", source="bundled")
    with pytest.raises(ValueError, match="binarize must be one of"):
        data_lib.load_mnist("train", source="bundled", binarize="yes")


def test_a_stream_started_at_epoch_k_replays_epochs_k_on(tmp_path):
    path, arrays = write_npz(tmp_path / "mnist.npz", n_train=30)
    images = arrays["x_train"]
    # 3 batches per epoch (the last one smaller); dynamic binarization too.
    def epochs(start, n):
        ds = data_lib.images_dataset(images, 12, binarize="dynamic", seed=4, start_epoch=start)
        batches = [b.numpy() for b in ds.take(3 * n)]
        return [np.concatenate(batches[3 * i: 3 * i + 3]) for i in range(n)]

    from_0, from_2 = epochs(0, 4), epochs(2, 2)
    for a, b in zip(from_0[2:], from_2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(from_0[0]) == 30 and not np.array_equal(from_0[0], from_0[1])
    with pytest.raises(ValueError, match="start_epoch needs a seed"):
        data_lib.images_dataset(images, 12, start_epoch=0)


def test_tfds_without_network_or_prepared_data_is_refused_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setattr(data_lib, "network_available", lambda *a, **k: False)
    with pytest.raises(ValueError, match=r"source='tfds' needs MNIST prepared .*\(--source path/to/mnist.npz"):
        data_lib.mnist_arrays("train", "tfds")
    assert not (tmp_path / "tfds").exists()
    # Prepared data on disk is read without the network (and without a download).
    info = tmp_path / "tfds" / "mnist" / "3.0.1" / "dataset_info.json"
    info.parent.mkdir(parents=True)
    info.write_text("{}")
    import tensorflow_datasets as tfds

    calls = []

    def load(name, **kwargs):
        calls.append(kwargs)
        return "prepared"

    monkeypatch.setattr(tfds, "load", load)
    monkeypatch.setattr(tfds, "as_numpy", lambda data: (np.zeros((2, 28, 28, 1), np.uint8),
                                                        np.array([3, 4])))
    images, labels = data_lib.mnist_arrays("test", "tfds")
    assert images.shape == (2, 784) and list(labels) == [3, 4]
    assert calls[0]["download"] is False and calls[0]["data_dir"] == str(tmp_path / "tfds")
