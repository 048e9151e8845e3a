"""Trains the toy GAN (see `python scripts/train_gan.py --help`)."""
from keras_gumbel.cli import train_gan_command

train_gan_command()
