"""Trains the discrete VAE on MNIST (see `python scripts/train_vae.py --help`)."""
from keras_gumbel.apps.vae.cli import main

main()
