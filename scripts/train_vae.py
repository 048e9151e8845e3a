"""Trains the discrete VAE on MNIST (see `python scripts/train_vae.py --help`)."""
from keras_gumbel.cli import train_vae_main

train_vae_main()
