"""`tf.distribute` strategies for the training scripts, and what the models
need to be right under them.

Keras 3 on TensorFlow runs `train_step` once per replica, each on its share
of the global batch, and *sums* the replicas' gradients. A model that writes
its own `train_step` therefore divides each replica's mean loss by the
number of replicas (`scale_loss`), exactly as `keras.Model.compute_loss`
does, so that the summed gradient is the gradient of the global batch's mean
loss. Metric variables are `ON_READ` with `SUM` aggregation: a `Mean`
metric read outside `train_step` is the mean over the global batch.

Each replica must draw its own Gumbel noise: the samplers' `SeedGenerator`
is a mirrored variable (the same state on every replica), so
`keras_gumbel.ops.stateless_seed` folds the replica's index into the seed it
draws (`replica_seed`); a fixed seed still replays the same run.

Example (build and compile the model inside the scope; `fit` takes the
global batch and splits it over the replicas):

>>> strategy = get_strategy("mirrored")
>>> with strategy.scope():
...     vae = DiscreteVAE(seed=1)
...     vae.compile()
>>> vae.fit(load_mnist("train", batch_size=100 * strategy.num_replicas_in_sync))
"""

from keras_gumbel.apps.common import backend  # noqa: F401, I001 (first: a clear error without TensorFlow)

import json
import os
import tempfile

import keras
import tensorflow as tf

from keras_gumbel._checks import check_choice, check_positive
from keras_gumbel._random import (
    replica_seed,  # re-exported; the fold-in lives in _random
)
from keras_gumbel.apps.common.compat import SplitBackupAndRestore

__all__ = [
    "COLLECTIVE_TIMEOUT",
    "STRATEGIES",
    "BackupAndRestore",
    "get_strategy",
    "is_chief",
    "replica_loss",
    "replica_seed",
    "scale_loss",
]

STRATEGIES = ("default", "mirrored", "multiworker")

# Seconds a collective operation (a gradient all-reduce) may wait for its
# peers before it fails with DeadlineExceeded, so that a worker whose peer
# died raises instead of hanging. A step of the demos takes far less; a
# slow checkpoint written by one worker while the others wait must too.
COLLECTIVE_TIMEOUT = 300.0

# MultiWorkerMirroredStrategy configures the process's collective ops once;
# a second instance in the same process fails, so it is made once and kept.
_MULTI_WORKER = {}


def get_strategy(name, collective_timeout=COLLECTIVE_TIMEOUT):
    """The `tf.distribute` strategy named `name`.

    - `"default"`: `tf.distribute.get_strategy()`, the strategy in scope
      (TensorFlow's default, one device, when none is).
    - `"mirrored"`: `tf.distribute.MirroredStrategy()`, a replica on every
      GPU of this machine (or the CPU when there is none).
    - `"multiworker"`: `tf.distribute.MultiWorkerMirroredStrategy`, one
      replica set per machine listed in the `TF_CONFIG` environment variable
      (a single local worker without it). Create it at the start of the
      program, before any other TensorFlow operation; every worker runs the
      same program. Collective operations time out after
      `collective_timeout` seconds, so no worker waits forever for a dead
      peer; before that, TensorFlow's coordination service usually notices
      the peer's missing heartbeats (after about 10 s) and aborts the
      collectives. Starting, a worker waits for all the others to join,
      without a time limit (and ignoring SIGTERM meanwhile: stop it with
      SIGKILL). The instance is cached: the process can hold only one.

    Build and compile models inside `strategy.scope()`.

    Args:
        name: one of `STRATEGIES`.
        collective_timeout: seconds (> 0) a collective operation of the
            multi-worker strategy may wait for its peers.

    Returns:
        A `tf.distribute.Strategy`.
    """
    check_choice(name, "strategy", STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    check_positive(collective_timeout, "collective_timeout")
    if "strategy" not in _MULTI_WORKER:
        _check_tf_config()
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=float(collective_timeout)
        )
        try:
            _MULTI_WORKER["strategy"] = tf.distribute.MultiWorkerMirroredStrategy(
                communication_options=options
            )
        except RuntimeError as error:
            if "program startup" not in str(error):
                raise
            raise RuntimeError(
                "get_strategy('multiworker') must run before any other TensorFlow "
                "operation of the program (TensorFlow configures its collective "
                "operations when it starts): call it first, before loading data "
                "or building models"
            ) from error
    return _MULTI_WORKER["strategy"]


def _check_tf_config():
    text = os.environ.get("TF_CONFIG")
    if not text:
        return
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
        ok = isinstance(workers, list) and task["type"] in config["cluster"] and index >= 0
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise ValueError(
            "TF_CONFIG must be JSON such as {\"cluster\": {\"worker\": "
            "[\"host1:port\", \"host2:port\"]}, \"task\": {\"type\": \"worker\", "
            f"\"index\": 0}}}}, received TF_CONFIG={text!r}"
        )


def _num_replicas():
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        return tf.distribute.get_strategy().num_replicas_in_sync
    return context.num_replicas_in_sync


def scale_loss(loss):
    """`loss / num_replicas_in_sync`: a replica's share of the global mean loss.

    Under a strategy every replica computes the mean loss of its part of the
    global batch and the gradients are summed over replicas; dividing by the
    number of replicas makes the sum the gradient of the global mean (for
    equal parts), as `keras.Model.compute_loss` does. The identity with one
    replica.
    """
    replicas = _num_replicas()
    if replicas == 1:
        return loss
    return loss * keras.ops.cast(1.0 / replicas, keras.backend.standardize_dtype(loss.dtype))


# The reductions after which a Keras `Loss` divides by the number of replicas.
_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def replica_loss(loss_fn, y_true, y_pred):
    """`loss_fn(y_true, y_pred)` as the replica's own mean loss, unscaled.

    A `keras.losses.Loss` that averages over the batch already divides its
    value by the number of replicas when called in a replica's context (for
    `keras.Model.compute_loss`); this undoes it, so that the value is right
    for metrics and `scale_loss` may be applied once for the gradient. Other
    callables are returned as they are. The identity with one replica.
    """
    value = loss_fn(y_true, y_pred)
    replicas = _num_replicas()
    if (
        replicas > 1
        and isinstance(loss_fn, keras.losses.Loss)
        and loss_fn.reduction in _MEAN_REDUCTIONS
    ):
        value = value * keras.ops.cast(replicas, keras.backend.standardize_dtype(value.dtype))
    return value


def is_chief():
    """Whether this process is the chief of a multi-worker cluster: the
    `chief` task of `TF_CONFIG`, or worker 0 when the cluster has no `chief`
    job; any process without a `TF_CONFIG`."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return True
    config = json.loads(text)
    task = config.get("task", {})
    kind = task.get("type", "worker")
    if "chief" in config.get("cluster", {}):
        return kind == "chief"
    return kind == "worker" and int(task.get("index", 0)) == 0


class BackupAndRestore(SplitBackupAndRestore):
    """`keras.callbacks.BackupAndRestore` for one worker of many.

    Every worker restores from `backup_dir` (a folder all of them can read,
    as on a shared file system); only the chief writes it. The other workers
    still save (saving may read metrics, which needs every worker) but into
    a private temporary folder, so no two processes write one file and all
    resume from the same state. With a single process it is Keras' callback.

    Args:
        backup_dir: the chief's backup folder.
        **kwargs: `save_freq`, `double_checkpoint`, `delete_checkpoint`, as
            in `keras.callbacks.BackupAndRestore`.
    """

    def __init__(self, backup_dir, **kwargs):
        write_dir = None if is_chief() else tempfile.mkdtemp(prefix="keras_gumbel_backup_")
        super().__init__(backup_dir, write_dir=write_dir, **kwargs)
