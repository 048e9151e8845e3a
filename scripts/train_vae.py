"""Trains the discrete VAE on MNIST (see `python scripts/train_vae.py --help`)."""
from keras_gumbel.cli import train_vae_command

train_vae_command()
