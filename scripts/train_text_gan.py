"""Trains a sequence GAN on the synthetic oracle (see `python scripts/train_text_gan.py --help`)."""
from keras_gumbel.apps.text_gan.cli import main

main()
