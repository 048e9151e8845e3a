"""The applications' stable import paths, as Keras and keras-hub lay theirs out.

`keras_gumbel/__init__.py` adds this folder to the package's search path, so
its modules import as `keras_gumbel.models`, `keras_gumbel.data`,
`keras_gumbel.export`, `keras_gumbel.distribute` and `keras_gumbel.recipes`:
the names users type do not depend on where the code lives
(`keras_gumbel/apps/<application>/`). Each is nothing but re-exports; none
is imported by `import keras_gumbel` (they load TensorFlow's applications).
"""
