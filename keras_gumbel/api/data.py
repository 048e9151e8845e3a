"""The applications' `tf.data` pipelines (re-exported from `keras_gumbel/apps/`):
the toy GAN's `number_stream` and MNIST (`load_mnist`, `mnist_arrays`,
`images_dataset`)."""

from keras_gumbel.apps.common.mnist import (
    BINARIZE_MODES,
    MNIST_SOURCES,
    MNIST_SPLITS,
    check_mnist_source,
    images_dataset,
    load_mnist,
    mnist_arrays,
    resolve_mnist_source,
)
from keras_gumbel.apps.gan.data import NUMBER_PROBS, check_label_smoothing, check_probs, number_stream

__all__ = [
    "BINARIZE_MODES",
    "MNIST_SOURCES",
    "MNIST_SPLITS",
    "NUMBER_PROBS",
    "check_label_smoothing",
    "check_mnist_source",
    "check_probs",
    "images_dataset",
    "load_mnist",
    "mnist_arrays",
    "number_stream",
    "resolve_mnist_source",
]
