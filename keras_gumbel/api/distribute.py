"""`tf.distribute` strategies and what the models need under them
(re-exported from `keras_gumbel.apps.common.distribute`)."""

from keras_gumbel.apps.common.distribute import (
    COLLECTIVE_TIMEOUT,
    STRATEGIES,
    BackupAndRestore,
    get_strategy,
    is_chief,
    replica_loss,
    replica_seed,
    scale_loss,
)

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
