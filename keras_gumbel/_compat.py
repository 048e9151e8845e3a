"""Every workaround for a TensorFlow or Keras version that the core needs, in
one place (the applications' are in `keras_gumbel.apps.common.compat`).

Each entry names the upstream issue (or the private API it relies on) and
the versions it was written for, so it can be deleted once upstream is
fixed. Nothing else in the package touches private TensorFlow or Keras
modules.
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
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


# Backend differences the core needs, behind three small functions (the random
# draws are the other one: keras_gumbel._random).


def is_traced(tensor):
    """Whether a tensor or variable is symbolic: inside a traced function (a
    `tf.function` graph, a `jax.jit` trace) its value is known only at run
    time. PyTorch runs eagerly: never."""
    if _BACKEND == "tensorflow":
        return not tf.executing_eagerly()
    if _BACKEND == "jax":
        import jax

        value = tensor.value if isinstance(tensor, keras.Variable) else tensor
        return isinstance(value, jax.core.Tracer)
    return False


def assert_at_run_time(tensor, condition, message):
    """`tensor`, checked by `condition(tensor)` when the traced function runs.

    On TensorFlow a graph assertion (`InvalidArgumentError` with `message`);
    inside an XLA cluster, which drops assertions, and under `jax.jit`,
    which has none, `tensor` unchecked (PyTorch runs eagerly: its values
    are always concrete).
    """
    if _BACKEND != "tensorflow" or in_xla_context():
        return tensor
    tensor = tf.convert_to_tensor(tensor)
    check = tf.debugging.Assert(condition(tensor), [message, tensor])
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


def tfp_distributions():
    """TensorFlow Probability's `distributions`, which the layers'
    `distribution()` returns on TensorFlow (on JAX and PyTorch it returns
    `keras_gumbel._distributions`' own, built on `keras_gumbel.ops`).
    Imported on first use only: `import keras_gumbel` does not load TFP."""
    import tensorflow_probability as tfp

    return tfp.distributions


def register_on_first_use(classes, package="keras_gumbel"):
    """Registers each `name: module` of `classes` with Keras' serialization
    as `package>name`, by a stand-in that imports `module` when Keras first
    deserializes the class, and returns the real class's `from_config`.
    Importing `module` registers the real class in its place.

    Keras 3 deserializes a class it does not find registered by importing
    the module its config names only for its own packages (`keras`,
    `keras_hub`, `keras_cv`, `keras_nlp`: `serialization_lib.
    _retrieve_class_or_fn`, Keras 3.15), so without this a saved model of a
    class not yet imported fails to load. Delete once Keras imports the
    module of any registered name.
    """
    import importlib

    registry = keras.saving.get_custom_objects()
    for name, module in classes.items():
        key = f"{package}>{name}"
        if key in registry:  # the real class, already imported
            continue

        def from_config(cls, config, _module=module, _name=name):
            return getattr(importlib.import_module(_module), _name).from_config(config)

        registry[key] = type(name, (), {
            "__doc__": f"Stands for {module}.{name} until it is imported.",
            "__module__": module,
            "from_config": classmethod(from_config),
            "get_config": lambda self: {},
        })
