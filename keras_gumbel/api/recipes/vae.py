"""The discrete VAE's recipe (re-exported from `keras_gumbel.apps.vae.config`
and `keras_gumbel.apps.vae.recipe`)."""

from keras_gumbel.apps.vae.config import PRESETS, VAEConfig, VAEResult
from keras_gumbel.apps.vae.recipe import (
    build_optimizer,
    build_vae,
    format_vae_losses,
    learning_rate_schedule,
    temperature_schedule,
    train_vae,
)

__all__ = ["PRESETS", "VAEConfig", "VAEResult", "build_optimizer", "build_vae",
           "format_vae_losses", "learning_rate_schedule", "temperature_schedule", "train_vae"]
