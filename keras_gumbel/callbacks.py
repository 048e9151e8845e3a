"""Keras callbacks of the core: temperature annealing.

(The applications' callbacks live in `keras_gumbel/apps/`: `common/callbacks.py`,
`gan/callbacks.py`, `vae/callbacks.py`.)"""

import keras

from keras_gumbel import _checks, _compat
from keras_gumbel import ops as gumbel_ops
from keras_gumbel import schedules as schedules_lib
from keras_gumbel.layers import _RelaxedSampler

__all__ = [
    "TemperatureScheduler",
    "find_temperature_layers",
]

UPDATES = ("batch", "epoch")


def find_temperature_layers(model):
    """Every sampling layer of `model`: the instances of `GumbelSoftmax`,
    `RelaxedBernoulli` and their subclasses, in sub-models and nested layers
    too, each once."""
    return [layer for layer in _compat.flatten_layers(model) if isinstance(layer, _RelaxedSampler)]


def _holds_temperature(layer):
    return isinstance(getattr(layer, "temperature", None), keras.Variable)


def _as_number(value):
    # A schedule may return a scalar tensor or NumPy value: read it.
    if getattr(value, "shape", None) != ():
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class TemperatureScheduler(keras.callbacks.Callback):
    """Anneals the temperature of the sampling layers during `fit`.

    At every training step (`update="batch"`) or epoch (`update="epoch"`) it
    computes `schedule(t)` and assigns it to the `temperature` variable of
    each target, which a compiled (or XLA) train function reads on every
    call. The targets are found by type: every `GumbelSoftmax`,
    `RelaxedBernoulli` or subclass in the model, sub-models included. A
    variable that several targets share is assigned once per update.

    With `update="batch"`, `t` is the global training step: the model
    optimizer's `iterations`, read at the start of each epoch and advanced
    by the batch index. It runs on across epochs (not reset to 0 each epoch)
    and survives a resumed run, since checkpoints, `.keras` files and
    `keras.callbacks.BackupAndRestore` restore the optimizer's step count.
    With `steps_per_execution > 1` the value changes once per execution.

    The value is assigned at the start of every epoch whatever the variable
    holds (a manual assign, a reload or a restored backup is overwritten by
    the schedule); within an epoch it is assigned when it changes.

    A schedule value that is not a finite number >= `MIN_TEMPERATURE`
    (1e-30), or one below 1 while a target uses `estimator="reinmax"` (Liu
    et al. 2023), stops training with a `ValueError` that names the step,
    the value (and the ReinMax layers), before it reaches the variables:
    the last good temperature stays in place. The check is the callback's,
    in Python, so it is the same on every backend and with XLA, which
    drops the samplers' own run-time assertions.

    The temperature is written into `logs["temperature"]`, so `History`,
    the progress bar and TensorBoard show it.

    Args:
        schedule: a callable `step -> float` (see `keras_gumbel.schedules`),
            a number, or a serialized schedule.
        layers: the layers to anneal, each holding a `temperature` variable;
            `None` finds every sampling layer of the model.
        update: `"batch"` (global steps) or `"epoch"` (epochs).
        verbose: 1 prints the temperature at the start of every epoch.

    Example:

    >>> model.fit(ds, epochs=10, callbacks=[TemperatureScheduler(
    ...     ExponentialDecay(initial=1.0, rate=3e-5, minimum=0.5, every=100))])
    """

    def __init__(self, schedule, layers=None, update="batch", verbose=0):
        super().__init__()
        self.schedule = schedules_lib.get(schedule)
        self.update = _checks.check_choice(update, "update", UPDATES)
        self.verbose = _checks.check_int(verbose, "verbose", minimum=0)
        if layers is not None:
            layers = list(layers)
            if not layers or not all(_holds_temperature(layer) for layer in layers):
                _checks.fail(
                    "layers",
                    "None or a non-empty list of layers that hold a `temperature` "
                    "variable (GumbelSoftmax and RelaxedBernoulli do)",
                    layers,
                )
        self._requested_layers = layers
        self.layers = []
        self._reinmax = []
        self.temperatures = []
        self._epoch_start_step = 0
        self._value = None

    def set_model(self, model):
        super().set_model(model)
        if self._requested_layers is None:
            layers = find_temperature_layers(model)
            if not layers:
                raise ValueError(
                    "TemperatureScheduler found no sampling layer "
                    "(keras_gumbel.GumbelSoftmax, RelaxedBernoulli or a subclass) "
                    f"in model {model.name!r}; pass layers=[...] explicitly"
                )
        else:
            layers = self._requested_layers
        trainable = [layer.name for layer in layers if layer.temperature.trainable]
        if trainable:
            raise ValueError(
                "TemperatureScheduler cannot anneal a trainable temperature "
                f"(layers {trainable} have trainable_temperature=True)"
            )
        self.layers = layers
        # The layers whose temperature must stay >= 1: checked before each
        # assignment (a compiled step would fail on TensorFlow, raise on
        # PyTorch and go on silently under XLA or JAX).
        self._reinmax = [layer.name for layer in layers if getattr(layer, "estimator", None) == "reinmax"]
        # One entry per variable: layers (or a model's property and its
        # layer) that share a variable get one assignment per update.
        self.temperatures = list({id(layer.temperature): layer.temperature for layer in layers}.values())

    def _optimizer_step(self):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:
            raise ValueError(
                "TemperatureScheduler(update='batch') reads the global step "
                "from model.optimizer.iterations; compile the model with an "
                "optimizer first"
            )
        return int(keras.ops.convert_to_numpy(iterations))

    def _set(self, step, force=False):
        unit = "epoch" if self.update == "epoch" else "step"
        value = self.schedule(step)
        name = f"schedule({unit}={step})"
        try:
            value = _checks.check_temperature(_as_number(value), name)
            if self._reinmax:
                gumbel_ops.check_reinmax_temperature(value, name)
        except ValueError as error:
            layers = f" (layers {self._reinmax})" if "reinmax" in str(error) else ""
            raise ValueError(f"TemperatureScheduler: {error}{layers}") from None
        if force or value != self._value:
            # On JAX, fit passes the model's variables from one compiled step
            # to the next as a state of its own and writes them back only at
            # the end of the epoch, so an assign between steps would be lost.
            # Reading `self.model` (Keras' Callback.model) writes the state
            # back now, and fit re-reads the variables, this assignment
            # included, before the next step. Other backends: a no-op.
            self.model  # noqa: B018
            for variable in self.temperatures:
                variable.assign(value)
            self._value = value

    def on_epoch_begin(self, epoch, logs=None):
        if self.update == "epoch":
            self._set(epoch, force=True)
        else:
            # Read here rather than in on_train_begin: a BackupAndRestore
            # placed after this callback restores the step count there.
            self._epoch_start_step = self._optimizer_step()
            self._set(self._epoch_start_step, force=True)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: TemperatureScheduler set temperature to {self._value:.6g}.")

    def on_train_batch_begin(self, batch, logs=None):
        if self.update == "batch":
            self._set(self._epoch_start_step + batch)

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs["temperature"] = self._value

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["temperature"] = self._value
