"""Exports a .keras model as a SavedModel (see `python scripts/export_savedmodel.py --help`)."""
from keras_gumbel.apps.export_command import main

main()
