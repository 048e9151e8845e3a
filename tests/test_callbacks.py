from unittest import mock

import numpy as np
import pytest

import keras
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli, TemperatureScheduler
from keras_gumbel.callbacks import find_temperature_layers
from keras_gumbel.schedules import Constant, ExponentialDecay, LinearDecay

STEPS = 4  # batches per epoch
X = np.random.default_rng(0).normal(size=(STEPS * 8, 6)).astype("float32")
Y = np.zeros((len(X),), "float32")


def max_prob_loss(_, y):
    # The mean largest entry of the samples: about 1/K at a high temperature,
    # about 1 near zero, so the logged loss shows which temperature the
    # compiled train step used.
    return keras.ops.mean(keras.ops.max(y, axis=-1))


def build(jit_compile=False, nested=False, seed=0):
    inputs = keras.Input((6,))
    x = keras.layers.Reshape((2, 5))(keras.layers.Dense(10)(inputs))
    layer = GumbelSoftmax(temperature=1.0, seed=seed)
    if nested:
        inner = keras.Sequential([layer], name="inner")
        outputs = inner(x)
    else:
        outputs = layer(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=max_prob_loss, jit_compile=jit_compile)
    return model, layer


class Recorder:
    """A schedule that remembers the steps it was asked for."""

    def __init__(self, schedule):
        self.schedule, self.steps = schedule, []

    def __call__(self, step):
        self.steps.append(step)
        return self.schedule(step)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_epoch_update_changes_temperature_inside_compiled_fit(jit_compile):
    model, layer = build(jit_compile)
    schedule = lambda epoch: 100.0 if epoch == 0 else 1e-3  # noqa: E731
    history = model.fit(
        X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[TemperatureScheduler(schedule, update="epoch")]
    )
    assert history.history["temperature"] == [100.0, 1e-3]
    loss = history.history["loss"]
    assert loss[0] < 0.25 and loss[1] > 0.95  # uniform over 5 is 0.2; one-hot is 1
    assert float(layer.temperature.numpy()) == pytest.approx(1e-3)


class BatchLosses(keras.callbacks.Callback):
    """The running mean loss after every batch."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


def test_batch_update_is_seen_by_the_next_compiled_step():
    # The default jit_compile (XLA on JAX) keeps the model's state between
    # steps; the value assigned before a step must be the one it uses.
    model, layer = build(jit_compile="auto")
    schedule = lambda step: 100.0 if step % 4 < 2 else 1e-3  # noqa: E731
    losses = BatchLosses()
    history = model.fit(
        X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[TemperatureScheduler(schedule), losses]
    )
    # Per-step max-prob: ~0.2 at tau = 100, ~1 at tau = 1e-3; logs hold the
    # running mean over the epoch's steps: 0.2, 0.2, 0.47, 0.6.
    expected = np.array([0.2, 0.2, (0.4 + 1) / 3, (0.4 + 2) / 4] * 2)
    np.testing.assert_allclose(losses.losses, expected, atol=0.03)
    assert history.history["temperature"] == [1e-3, 1e-3]
    assert float(layer.temperature.numpy()) == pytest.approx(1e-3)


def test_batch_update_counts_global_steps_across_epochs():
    model, layer = build(nested=True)
    recorder = Recorder(LinearDecay(1.0, 0.5, steps=STEPS * 3))
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[TemperatureScheduler(recorder)])
    # Every global step 0..11 is asked for, in order (epoch starts ask twice).
    assert sorted(set(recorder.steps)) == list(range(STEPS * 3))
    assert recorder.steps == sorted(recorder.steps)
    expected = [LinearDecay(1.0, 0.5, STEPS * 3)((e + 1) * STEPS - 1) for e in range(3)]
    np.testing.assert_allclose(history.history["temperature"], expected)
    assert float(layer.temperature.numpy()) == pytest.approx(expected[-1])


def test_finds_layers_in_sub_models_and_refuses_models_without_one():
    model, layer = build(nested=True)
    callback = TemperatureScheduler(1.0)
    callback.set_model(model)
    assert callback.layers == [layer]
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="plain")
    with pytest.raises(ValueError, match="found no sampling layer .*in model 'plain'"):
        TemperatureScheduler(1.0).set_model(plain)


class Sharper(GumbelSoftmax):
    """A subclass of a sampling layer: found like its base."""


class NotASampler(keras.layers.Layer):
    """Holds a `temperature` variable but is no sampling layer: not a target."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.temperature = self.add_weight(shape=(), initializer="ones", trainable=False, name="temperature")

    def call(self, x):
        return x / self.temperature


class Generator(keras.Model):
    """As keras_gumbel.models.CategoricalGenerator: a model whose
    `temperature` property exposes its sampling layer's variable."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(10)
        self.reshape = keras.layers.Reshape((2, 5))
        self.sampler = GumbelSoftmax(temperature=1.0, seed=0)

    @property
    def temperature(self):
        return self.sampler.temperature

    def call(self, x, training=None):
        return self.sampler(self.reshape(self.dense(x)), training=training)


def test_finds_targets_by_type_in_sub_models_and_attributes():
    inputs = keras.Input((6,))
    x = keras.layers.Reshape((2, 5))(keras.layers.Dense(10)(inputs))
    subclass, bernoulli, other = Sharper(seed=1), RelaxedBernoulli(seed=2), NotASampler()
    inner = keras.Sequential([subclass], name="inner")
    generator = Generator()
    outputs = [inner(x), bernoulli(other(x)), generator(inputs)]
    model = keras.Model(inputs, outputs)
    found = find_temperature_layers(model)
    assert {id(layer) for layer in found} == {id(subclass), id(bernoulli), id(generator.sampler)}
    assert len(found) == 3  # the generator (a model with a temperature) is not a target


def count_assigns(variables):
    """Patches `assign` of the variables' class; returns {id: count} of the
    assignments of Python numbers, the scheduler's (on JAX, fit also writes
    its step state back into every variable, as arrays)."""
    counts = {id(v): 0 for v in variables}
    original = type(variables[0]).assign

    def assign(self, value):
        if id(self) in counts and isinstance(value, float):
            counts[id(self)] += 1
        return original(self, value)

    return counts, mock.patch.object(type(variables[0]), "assign", assign)


@pytest.mark.parametrize("explicit", [False, True])
def test_a_shared_temperature_variable_is_assigned_once_per_update(explicit):
    # A GumbelGAN-like model: the generator's property and its layer expose
    # one variable, which the scheduler must assign once per update.
    generator = Generator()
    inputs = keras.Input((6,))
    model = keras.Model(inputs, generator(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=max_prob_loss)
    layers = [generator, generator.sampler] if explicit else None
    schedule = LinearDecay(1.0, 0.5, steps=STEPS * 2)
    callback = TemperatureScheduler(schedule, layers=layers)
    counts, patch = count_assigns([generator.sampler.temperature])
    with patch:
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert len(callback.temperatures) == 1
    # Each epoch assigns at its start, then at every batch whose value is
    # new: the schedule changes at every step but the first of each epoch.
    assert counts[id(generator.sampler.temperature)] == 2 * STEPS
    assert float(generator.temperature.numpy()) == pytest.approx(schedule(2 * STEPS - 1))


def test_bad_schedule_value_is_refused_and_the_last_good_one_kept():
    model, layer = build()
    schedule = lambda step: 0.5 if step < 6 else -0.2  # noqa: E731
    match = r"TemperatureScheduler: schedule\(step=6\) must be a finite number > 0, received schedule\(step=6\)=-0.2"
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y, batch_size=8, epochs=3, verbose=0, callbacks=[TemperatureScheduler(schedule)])
    assert float(layer.temperature.numpy()) == 0.5
    assert int(model.optimizer.iterations.numpy()) == 6  # stopped before step 6 ran
    for bad in (float("nan"), float("inf"), 0.0, "0.5", None):
        model, layer = build()
        callback = TemperatureScheduler(lambda epoch, bad=bad: 0.25 if epoch == 0 else bad, update="epoch")
        with pytest.raises(ValueError, match=r"schedule\(epoch=1\) must be a finite number > 0"):
            model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
        assert float(layer.temperature.numpy()) == 0.25


def test_schedule_may_return_a_scalar_tensor_or_numpy_value():
    for value in (keras.ops.convert_to_tensor(0.375), np.float32(0.375), np.array(0.375)):
        model, layer = build()
        history = model.fit(
            X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[TemperatureScheduler(lambda step, v=value: v)]
        )
        assert history.history["temperature"] == [0.375]
        assert float(layer.temperature.numpy()) == 0.375


class TemperatureProbe(keras.callbacks.Callback):
    """The layer's temperature after every batch. Read through `self.model`,
    which on JAX first writes fit's step state back into the variables."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.seen = layer, []

    def on_train_batch_end(self, batch, logs=None):
        self.model  # noqa: B018
        self.seen.append(float(self.layer.temperature.numpy()))


@pytest.mark.parametrize("update", ["batch", "epoch"])
def test_no_stale_value_after_a_manual_assign_between_fits(update):
    model, layer = build()
    callback = TemperatureScheduler(Constant(0.5), update=update)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert float(layer.temperature.numpy()) == 0.5
    layer.temperature.assign(100.0)  # by hand, or by loading weights
    probe = TemperatureProbe(layer)
    history = model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[callback, probe])
    assert probe.seen == [0.5] * STEPS
    # At 100 the samples would be near uniform (loss about 0.2); at 0.5 the
    # compiled step saw the scheduled value.
    assert history.history["loss"][0] > 0.3


def test_resume_from_keras_file_with_initial_epoch(tmp_path):
    schedule = ExponentialDecay(initial=1.0, rate=0.05, minimum=0.1, every=2)
    model, _ = build()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[TemperatureScheduler(schedule)])
    model.save(tmp_path / "m.keras")
    resumed = keras.models.load_model(tmp_path / "m.keras", custom_objects={"max_prob_loss": max_prob_loss})
    recorder = Recorder(schedule)
    history = resumed.fit(
        X, Y, batch_size=8, epochs=3, initial_epoch=2, verbose=0, callbacks=[TemperatureScheduler(recorder)]
    )
    assert min(recorder.steps) == 2 * STEPS
    assert history.history["temperature"] == [schedule(3 * STEPS - 1)]


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise RuntimeError("interrupted")


def test_resume_with_backup_and_restore(tmp_path):
    schedule = LinearDecay(1.0, 0.2, steps=STEPS * 4)
    backup = str(tmp_path / "backup")
    model, layer = build()
    with pytest.raises(RuntimeError, match="interrupted"):
        model.fit(
            X, Y, batch_size=8, epochs=4, verbose=0,
            callbacks=[TemperatureScheduler(schedule), keras.callbacks.BackupAndRestore(backup), Interrupt()],
        )
    layer.temperature.assign(1.0)  # a restarted process starts from scratch
    model.optimizer.iterations.assign(0)
    recorder = Recorder(schedule)
    history = model.fit(
        X, Y, batch_size=8, epochs=4, verbose=0,
        callbacks=[TemperatureScheduler(recorder), keras.callbacks.BackupAndRestore(backup)],
    )
    assert len(history.history["temperature"]) == 2  # epochs 3 and 4 only
    assert min(recorder.steps) == 2 * STEPS
    np.testing.assert_allclose(history.history["temperature"], [schedule(3 * STEPS - 1), schedule(4 * STEPS - 1)])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="update must be one of .* received update='step'"):
        TemperatureScheduler(1.0, update="step")
    with pytest.raises(ValueError, match="schedule must be a callable"):
        TemperatureScheduler("fast")
    with pytest.raises(ValueError, match="verbose must be an integer >= 0, received verbose=-1"):
        TemperatureScheduler(1.0, verbose=-1)
    with pytest.raises(ValueError, match="layers must be None or a non-empty list of layers that hold a `temperature`"):
        TemperatureScheduler(1.0, layers=[keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="layers must be None or a non-empty list"):
        TemperatureScheduler(1.0, layers=[])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, GumbelSoftmax(trainable_temperature=True)(inputs))
    with pytest.raises(ValueError, match="cannot anneal a trainable temperature"):
        TemperatureScheduler(1.0).set_model(model)


def test_straight_through_model_learns_while_annealed_by_global_step(tmp_path):
    # Labels from a hidden linear rule; the model's only path is a hard
    # (straight-through) GumbelSoftmax, whose exact one-hots are compared
    # with the labels: only the estimator's gradient trains the encoder.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 4)).astype("float32")
    labels = (x @ rng.normal(size=(4, 3))).argmax(-1)
    y = np.eye(3, dtype="float32")[labels]
    inputs = keras.Input((4,))
    layer = GumbelSoftmax(temperature=2.0, hard=True, seed=3, name="sampler")
    encoder = keras.layers.Dense(3, kernel_initializer="zeros", name="encoder")
    model = keras.Model(inputs, layer(encoder(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")  # default jit_compile

    def accuracy(m):
        return float((m.predict(x, verbose=0).argmax(-1) == labels).mean())

    before = accuracy(model)
    schedule = LinearDecay(2.0, 0.2, steps=8 * 10)
    recorder = Recorder(schedule)
    history = model.fit(x, y, batch_size=32, epochs=12, verbose=0, shuffle=False, callbacks=[TemperatureScheduler(recorder)])
    # Annealed by the global step (8 steps an epoch), logged per epoch.
    assert sorted(set(recorder.steps)) == list(range(8 * 12))
    np.testing.assert_allclose(history.history["temperature"], [schedule(8 * (e + 1) - 1) for e in range(12)])
    assert float(layer.temperature.numpy()) == pytest.approx(0.2)
    after = accuracy(model)
    # Zero logits predict class 0 (a third of the labels); the rule is
    # linear, so the encoder can learn it.
    assert before < 0.5 and after > 0.9, (before, after)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]

    path = tmp_path / "st.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    revived = loaded.get_layer("sampler")
    assert float(revived.temperature.numpy()) == pytest.approx(0.2)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # The random stream continues where the saved model's was.
    logits = keras.ops.convert_to_tensor(x[:, :3])
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(revived(logits, training=True)),
        keras.ops.convert_to_numpy(layer(logits, training=True)),
    )


@pytest.mark.parametrize("jit_compile", ["auto", False])
def test_a_reinmax_temperature_below_one_is_refused_before_it_is_assigned(jit_compile):
    # Without the check, a compiled step failed on TensorFlow (a graph
    # assertion), raised on PyTorch and trained on at 0.5 under JAX's XLA.
    inputs = keras.Input((6,))
    x = keras.layers.Reshape((2, 5))(keras.layers.Dense(10)(inputs))
    layer = GumbelSoftmax(temperature=2.0, estimator="reinmax", seed=0, name="rm")
    other = GumbelSoftmax(temperature=1.0, seed=1, name="plain")
    model = keras.Model(inputs, [layer(x), other(x)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=[max_prob_loss, max_prob_loss], jit_compile=jit_compile)
    schedule = lambda step: 1.5 if step < 6 else 0.5  # noqa: E731
    match = (
        r"TemperatureScheduler: estimator='reinmax' needs schedule\(step=6\) >= 1 \(Liu et al. 2023\), "
        r"received schedule\(step=6\)=0.5 \(layers \['rm'\]\)"
    )
    with pytest.raises(ValueError, match=match):
        model.fit(X, [Y, Y], batch_size=8, epochs=3, verbose=0, callbacks=[TemperatureScheduler(schedule)])
    assert float(layer.temperature.numpy()) == 1.5 and float(other.temperature.numpy()) == 1.5
    assert int(model.optimizer.iterations.numpy()) == 6  # stopped before step 6 ran
    # Exactly 1 is allowed; layers without ReinMax take any valid value.
    model.fit(X, [Y, Y], batch_size=8, epochs=1, verbose=0, callbacks=[TemperatureScheduler(1.0)])
    plain, _ = build()
    plain.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[TemperatureScheduler(0.5)])


def test_a_schedule_value_below_the_temperature_floor_is_refused():
    model, layer = build()
    callback = TemperatureScheduler(lambda epoch: 0.25 if epoch == 0 else 1e-45, update="epoch")
    match = r"TemperatureScheduler: schedule\(epoch=1\) must be a finite number >= 1e-30 .*received schedule\(epoch=1\)=1e-45"
    with pytest.raises(ValueError, match=match):
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert float(layer.temperature.numpy()) == 0.25


def test_each_refusal_says_what_is_wrong_in_full():
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="plain")
    with pytest.raises(ValueError) as info:
        TemperatureScheduler(1.0).set_model(plain)
    assert str(info.value) == (
        "TemperatureScheduler found no sampling layer (keras_gumbel.GumbelSoftmax, RelaxedBernoulli "
        "or a subclass) in model 'plain'; pass layers=[...] explicitly")
    inputs = keras.Input((4,))
    layer = GumbelSoftmax(trainable_temperature=True, name="free")
    with pytest.raises(ValueError) as info:
        TemperatureScheduler(1.0).set_model(keras.Model(inputs, layer(inputs)))
    assert str(info.value) == ("TemperatureScheduler cannot anneal a trainable temperature "
                               "(layers ['free'] have trainable_temperature=True)")
    dense = keras.layers.Dense(2, name="d")
    with pytest.raises(ValueError) as info:
        TemperatureScheduler(1.0, layers=[dense])
    assert str(info.value) == (
        "layers must be None or a non-empty list of layers that hold a `temperature` variable "
        f"(GumbelSoftmax and RelaxedBernoulli do), received layers={[dense]!r}")


def test_a_new_scheduler_is_silent_and_holds_no_layers_until_set_model(capsys):
    callback = TemperatureScheduler(1.0)
    assert callback.verbose == 0 and callback.layers == [] and callback.temperatures == []
    model, _ = build()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    assert capsys.readouterr().out == ""
    assert len(callback.layers) == 1 and len(callback.temperatures) == 1


def test_update_batch_on_an_uncompiled_model_says_to_compile_it():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, GumbelSoftmax(seed=0)(inputs))
    callback = TemperatureScheduler(1.0)
    callback.set_model(model)
    with pytest.raises(ValueError) as info:
        callback.on_train_begin()
        callback.on_epoch_begin(0)
        callback.on_train_batch_begin(0)
    assert str(info.value) == ("TemperatureScheduler(update='batch') reads the global step from "
                               "model.optimizer.iterations; compile the model with an optimizer first")


def test_a_refused_value_names_the_reinmax_layers_only_for_reinmax():
    model, _ = build()
    with pytest.raises(ValueError) as info:
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[TemperatureScheduler(lambda s: -1.0)])
    assert str(info.value) == ("TemperatureScheduler: schedule(step=0) must be a finite number > 0, "
                               "received schedule(step=0)=-1.0")


def test_verbose_prints_each_epochs_temperature(capsys):
    model, _ = build()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0,
              callbacks=[TemperatureScheduler(lambda e: 0.5 * (e + 1), update="epoch", verbose=1)])
    out = capsys.readouterr().out
    assert "\nEpoch 1: TemperatureScheduler set temperature to 0.5.\n" in out
    assert "\nEpoch 2: TemperatureScheduler set temperature to 1.\n" in out


def test_every_batch_logs_the_temperature_it_trained_at():
    model, _ = build()
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(logs["temperature"])

    model.fit(X, Y, batch_size=8, epochs=1, verbose=0,
              callbacks=[TemperatureScheduler(lambda step: 1.0 + step), Probe()])
    assert seen == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("update", ["epoch", "batch"])
def test_each_epoch_sets_its_temperature_even_if_it_did_not_change(update):
    # A temperature moved between epochs (here by another callback) is set
    # again at the next epoch's start, though the schedule's value is the same.
    model, layer = build()
    temperatures = []

    class Meddle(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            layer.temperature.assign(3.0)

    class Starts(keras.callbacks.Callback):
        # After the scheduler's epoch start (variables are readable between
        # epochs on every backend).
        def on_epoch_begin(self, epoch, logs=None):
            temperatures.append(float(keras.ops.convert_to_numpy(layer.temperature)))

    model.fit(X, Y, batch_size=8, epochs=3, verbose=0,
              callbacks=[TemperatureScheduler(0.5, update=update), Meddle(), Starts()])
    assert temperatures == [0.5, 0.5, 0.5]


def test_explicit_layers_are_the_only_ones_annealed():
    inputs = keras.Input((6,))
    x = keras.layers.Reshape((2, 3))(inputs)
    first, second = GumbelSoftmax(temperature=1.0, seed=0), GumbelSoftmax(temperature=1.0, seed=1)
    model = keras.Model(inputs, keras.layers.Concatenate()([first(x), second(x)]))
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=max_prob_loss)
    callback = TemperatureScheduler(0.25, layers=[second])
    model.fit(X, np.zeros((len(X), 2, 6), "float32"), batch_size=8, epochs=1, verbose=0,
              callbacks=[callback])
    assert callback.layers == [second]
    assert float(second.temperature.numpy()) == 0.25
    assert float(first.temperature.numpy()) == 1.0
