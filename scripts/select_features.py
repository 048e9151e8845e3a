"""Selects k of MNIST's pixels (see `python scripts/select_features.py --help`)."""
from keras_gumbel.apps.feature_selection.cli import main

main()
