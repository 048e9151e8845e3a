"""Keras callbacks: temperature annealing; a generator's probabilities and an
autoencoder's reconstructions per epoch."""

import os

import keras

from keras_gumbel import schedules as schedules_lib

__all__ = [
    "ProbabilityHistory",
    "ReconstructionPlotter",
    "TemperatureScheduler",
    "find_temperature_layers",
]

UPDATES = ("batch", "epoch")


def _has_temperature(layer):
    return isinstance(getattr(layer, "temperature", None), keras.Variable)


def find_temperature_layers(model):
    """Every layer of `model` (sub-models and nested layers included) that
    holds a `temperature` variable, such as `GumbelSoftmax`."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if _has_temperature(layer)
    ]


class TemperatureScheduler(keras.callbacks.Callback):
    """Anneals the temperature of `GumbelSoftmax` layers during `fit`.

    At every training step (`update="batch"`) or epoch (`update="epoch"`) it
    computes `schedule(t)` and assigns it to each layer's `temperature`
    variable, which a compiled (or XLA) train function reads on every call.

    With `update="batch"`, `t` is the global training step: the model
    optimizer's `iterations`, read at the start of each epoch and advanced
    by the batch index. It runs on across epochs (not reset to 0 each epoch)
    and survives a resumed run, since checkpoints, `.keras` files and
    `keras.callbacks.BackupAndRestore` restore the optimizer's step count.
    With `steps_per_execution > 1` the value changes once per execution.

    The temperature is written into `logs["temperature"]`, so `History`,
    the progress bar and TensorBoard show it.

    Args:
        schedule: a callable `step -> float` (see `keras_gumbel.schedules`).
        layers: the layers to anneal; `None` finds every layer of the model
            with a `temperature` variable (sub-models included).
        update: `"batch"` (global steps) or `"epoch"` (epochs).
        verbose: 1 prints the temperature at the start of every epoch.

    Example:

    >>> model.fit(ds, epochs=10, callbacks=[TemperatureScheduler(
    ...     ExponentialDecay(initial=1.0, rate=3e-5, minimum=0.5, every=100))])
    """

    def __init__(self, schedule, layers=None, update="batch", verbose=0):
        super().__init__()
        self.schedule = schedules_lib.get(schedule)
        if update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, received update={update!r}")
        self.update = update
        self.verbose = verbose
        self._requested_layers = None if layers is None else list(layers)
        self.layers = []
        self._epoch_start_step = 0
        self._value = None

    def set_model(self, model):
        super().set_model(model)
        if self._requested_layers is None:
            layers = find_temperature_layers(model)
            if not layers:
                raise ValueError(
                    "TemperatureScheduler found no layer with a temperature "
                    "(such as keras_gumbel.GumbelSoftmax) in model "
                    f"{model.name!r}; pass layers=[...] explicitly"
                )
        else:
            layers = self._requested_layers
            wrong = [layer for layer in layers if not _has_temperature(layer)]
            if wrong:
                raise ValueError(
                    "layers must hold a `temperature` variable (GumbelSoftmax "
                    f"and RelaxedBernoulli do), received layers={wrong!r}"
                )
        trainable = [layer.name for layer in layers if layer.temperature.trainable]
        if trainable:
            raise ValueError(
                "TemperatureScheduler cannot anneal a trainable temperature "
                f"(layers {trainable} have trainable_temperature=True)"
            )
        self.layers = layers

    def _optimizer_step(self):
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:
            raise ValueError(
                "TemperatureScheduler(update='batch') reads the global step "
                "from model.optimizer.iterations; compile the model with an "
                "optimizer first"
            )
        return int(keras.ops.convert_to_numpy(iterations))

    def _set(self, step):
        value = float(self.schedule(step))
        if value != self._value:
            for layer in self.layers:
                layer.temperature.assign(value)
            self._value = value

    def on_epoch_begin(self, epoch, logs=None):
        if self.update == "epoch":
            self._set(epoch)
        else:
            # Read here rather than in on_train_begin: a BackupAndRestore
            # placed after this callback restores the step count there.
            self._epoch_start_step = self._optimizer_step()
            self._set(self._epoch_start_step)
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
