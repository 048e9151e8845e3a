"""Every workaround for a TensorFlow or Keras version, in one place.

Each entry names the upstream issue (or the private API it relies on) and
the versions it was written for, so it can be deleted once upstream is
fixed. Nothing else in the package touches private TensorFlow or Keras
modules.
"""

# -- core: ops, layers, callbacks ----------------------------------------------

import tensorflow as tf
from tensorflow.python.ops import control_flow_util


def in_xla_context():
    """Whether the op being built will run inside an XLA cluster
    (`jit_compile=True`, or a function called from one).

    The random ops pick their algorithm by it (`keras_gumbel._random`):
    Philox compiles to a generator about 100x slower than Threefry under XLA
    on CPU. TensorFlow has no public way to ask.

    Private API: `tensorflow.python.ops.control_flow_util.
    GraphOrParentsInXlaContext` (in TensorFlow since 1.x; written for and tested with TF 2.21).
    """
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def flatten_layers(model):
    """Every layer inside `model` (sub-models, layers nested in subclassed
    layers and models' attributes), each once, `model` itself excluded.

    `TemperatureScheduler` finds its targets with it. Keras' public
    `Model.layers` lists only the direct children of a functional or
    Sequential model, and nothing for layers held by a subclassed layer.

    Private API: `keras.layers.Layer._flatten_layers(include_self, recursive)`
    (every Keras 3 release so far; written for and tested with Keras 3.15).
    """
    return list(model._flatten_layers(include_self=False, recursive=True))


# -- demos: models, distribute, recipes ----------------------------------------
