"""Trains the toy GAN (see `python scripts/train_gan.py --help`)."""
from keras_gumbel.apps.gan.cli import main

main()
