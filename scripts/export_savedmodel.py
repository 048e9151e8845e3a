"""Exports a .keras model as a SavedModel (see `python scripts/export_savedmodel.py --help`)."""
from keras_gumbel.cli import export_command

export_command()
