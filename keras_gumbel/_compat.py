"""Every workaround for a TensorFlow or Keras version, in one place.

Each entry names the upstream issue (or the private API it relies on) and
the versions it was written for, so it can be deleted once upstream is
fixed. Nothing else in the package touches private TensorFlow or Keras
modules.
"""

# -- core: ops, layers, callbacks ----------------------------------------------

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


# -- demos: models, distribute, recipes ----------------------------------------

import json as _json  # noqa: E402
import os as _os  # noqa: E402
import warnings as _warnings  # noqa: E402

import keras as _keras  # noqa: E402
if _keras.backend.backend() == "tensorflow":  # the demos run on TensorFlow only
    import tensorflow as _tf  # noqa: E402


def compile_arguments(strategy, kwargs):
    """The `compile` arguments `kwargs` (a dict), with what cannot work under
    `strategy` turned off, with a warning. With several replicas:

    - `jit_compile=True` becomes `False`: Keras compiles the steps of all
      replicas into one function, and XLA cannot reach the variables of the
      other replicas' devices ("Trying to access resource ... located in
      device CPU:1 from device CPU:0"). Keras' own `"auto"` makes the same
      choice under `tf.distribute`.
    - `steps_per_execution > 1` becomes 1: Keras' loop over several steps
      fails under a strategy with several replicas ("You must feed a value
      for placeholder tensor 'while/...'"; any model).

    Other arguments, and all of them with one replica, are returned as
    they are.

    Workaround for: Keras 3.15 on TensorFlow 2.21 (both failures); delete
    the `steps_per_execution` part once Keras' multi-step loop runs under
    `tf.distribute`.
    """
    kwargs = dict(kwargs)
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return kwargs
    if kwargs.get("jit_compile") is True:
        _warnings.warn(
            f"jit_compile=True does not work with {replicas} replicas of a "
            "tf.distribute strategy (XLA cannot reach the other devices' "
            "variables); compiling with jit_compile=False",
            stacklevel=3,
        )
        kwargs["jit_compile"] = False
    steps = kwargs.get("steps_per_execution", 1)
    if steps != 1:
        _warnings.warn(
            f"steps_per_execution={steps} does not work with {replicas} replicas "
            "of a tf.distribute strategy in this Keras version; compiling with "
            "steps_per_execution=1",
            stacklevel=3,
        )
        kwargs["steps_per_execution"] = 1
    return kwargs


def _multi_worker(strategy):
    # More replicas in sync than this worker's devices: other workers take part.
    return strategy.num_replicas_in_sync != len(strategy.extended.worker_devices)


def step_logs(logs):
    """The logs a `train_step` or `test_step` returns, made reducible.

    Keras 3 reduces a step's logs across the workers of a multi-worker
    strategy with `strategy.reduce("MEAN", value, axis=0)`, which fails on
    scalars ("Invalid reduction dimension 0 for input with 0 dimensions").
    Under a multi-worker strategy each scalar becomes a vector `[1]`, which
    that reduction averages back into a scalar; elsewhere the logs are
    returned as they are.

    Workaround for: tensorflow/tensorflow#72388 (Keras 3.15, TensorFlow
    2.21); delete once Keras reduces scalar logs across workers.
    """
    if _tf.distribute.in_cross_replica_context() or not _tf.distribute.has_strategy():
        return logs
    if not _multi_worker(_tf.distribute.get_strategy()):
        return logs
    return {
        name: _keras.ops.reshape(value, (1,)) if len(value.shape) == 0 else value
        for name, value in logs.items()
    }


class SplitBackupAndRestore(_keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that restores from `backup_dir` but
    writes its own backups into `write_dir` (`None`: into `backup_dir`, as
    Keras' callback does). `keras_gumbel.distribute.BackupAndRestore` uses it
    so that every worker of a cluster restores the chief's backup while only
    the chief writes there.

    It also writes each backup file to a temporary name and renames it
    (`_save_model`), so that a process killed while saving leaves the
    previous backup, not a damaged or mismatched one.

    Private API: Keras' callback keeps its file names in `_weights_path`,
    `_training_metadata_path`, `_prev_weights_path` and
    `_prev_training_metadata_path`, its state in `_current_epoch` and
    `_last_batch_seen`, saves in `_save_model()` and restores in
    `_load_model()`; Keras 3.15 (written for and tested with it). Delete
    once Keras can restore and write in different folders and writes its
    backup atomically.
    """

    def __init__(self, backup_dir, write_dir=None, **kwargs):
        super().__init__(backup_dir, **kwargs)
        self._restore_paths = (self._weights_path, self._training_metadata_path)
        if write_dir is not None:
            self.backup_dir = write_dir
            self._weights_path = _os.path.join(write_dir, "latest.weights.h5")
            self._training_metadata_path = _os.path.join(write_dir, "training_metadata.json")
            self._prev_weights_path = f"{self._weights_path}.bkp"
            self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"

    def _save_model(self):
        # Keras writes the weights in place, then the metadata: a process
        # killed meanwhile leaves a damaged weights file, or the weights of
        # epoch N beside the metadata of N - 1 (resumed silently at the wrong
        # epoch). Each is written to a temporary file and renamed, weights
        # first: only the instant between the two renames remains.
        if self.double_checkpoint:
            return super()._save_model()
        _os.makedirs(self.backup_dir, exist_ok=True)
        weights_tmp = _os.path.join(self.backup_dir, ".tmp-latest.weights.h5")
        metadata_tmp = _os.path.join(self.backup_dir, ".tmp-training_metadata.json")
        self.model.save_weights(filepath=weights_tmp, overwrite=True)
        with open(metadata_tmp, "w", encoding="utf-8") as f:
            _json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
        _os.replace(weights_tmp, self._weights_path)
        _os.replace(metadata_tmp, self._training_metadata_path)

    def _load_model(self):
        own = (self._weights_path, self._training_metadata_path)
        self._weights_path, self._training_metadata_path = self._restore_paths
        try:
            super()._load_model()
        finally:
            self._weights_path, self._training_metadata_path = own


def backup_epochs(backup_dir):
    """The epochs finished in the `keras.callbacks.BackupAndRestore` backup
    in `backup_dir`: 0 if it holds none, `None` if its record is unreadable
    (a process killed while writing it).

    The recipes read it before any work, so that a resumed run's data starts
    at the epoch Keras resumes at and the run can say where it resumes.

    Private API: Keras writes the weights, then `training_metadata.json`
    holding `{"epoch": N, "batch": B}` (N epochs finished), and restores
    from them in `BackupAndRestore._load_model`; Keras 3.15 (written for and
    tested with it). Delete once Keras tells the epoch it resumes at before
    `fit` runs.
    """
    path = _os.path.join(_os.fspath(backup_dir), "training_metadata.json")
    if not _os.path.exists(path):
        return 0
    try:
        with open(path, encoding="utf-8") as f:
            epoch = _json.load(f)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        return None
    return epoch
