"""Every workaround for a TensorFlow or Keras version, in one place.

Each entry names the upstream issue (or the private API it relies on) and
the versions it was written for, so it can be deleted once upstream is
fixed. Nothing else in the package touches private TensorFlow or Keras
modules.
"""

# -- core: ops, layers, callbacks ----------------------------------------------


# -- demos: models, distribute, recipes ----------------------------------------
