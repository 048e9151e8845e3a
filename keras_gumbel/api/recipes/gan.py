"""The toy GAN's recipe (re-exported from `keras_gumbel.apps.gan.recipe`)."""

from keras_gumbel.apps.gan.recipe import (
    GANConfig,
    GANResult,
    build_gan,
    format_probability_table,
    gan_dataset,
    temperature_schedule,
    train_gan,
)

__all__ = ["GANConfig", "GANResult", "build_gan", "format_probability_table", "gan_dataset",
           "temperature_schedule", "train_gan"]
