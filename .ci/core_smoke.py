"""A core-only install at work, run from outside the repository: no
TensorFlow installed, the backend of KERAS_BACKEND; a model with
GumbelSoftmax and RelaxedBernoulli trains under `model.fit` with
TemperatureScheduler, saves to .keras and loads back with equal outputs."""

import importlib.util
import os
import sys
import tempfile

import numpy as np

assert importlib.util.find_spec("tensorflow") is None, "TensorFlow is installed"
import keras  # noqa: E402

import keras_gumbel  # noqa: E402
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli, TemperatureScheduler, ops  # noqa: E402
from keras_gumbel.schedules import LinearDecay  # noqa: E402

assert keras.backend.backend() == os.environ["KERAS_BACKEND"], keras.backend.backend()
# The installed package, not the repository's source next to this script
# (the environment may itself lie inside the repository).
source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_gumbel")
assert os.path.dirname(os.path.abspath(keras_gumbel.__file__)) != source, keras_gumbel.__file__
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 4)).astype("float32")
y = np.eye(3, dtype="float32")[np.argmax(x[:, :3], axis=1)]
inputs = keras.Input((4,))
hidden = keras.layers.Dense(3)(inputs)
outputs = GumbelSoftmax(temperature=2.0, hard=True, seed=3)(hidden)
bits = RelaxedBernoulli(temperature=1.0, seed=4)(hidden)
model = keras.Model(inputs, [outputs, bits])
model.compile(optimizer=keras.optimizers.Adam(0.05), loss=["categorical_crossentropy", "mse"])
history = model.fit(x, [y, y], epochs=3, batch_size=32, verbose=0,
                    callbacks=[TemperatureScheduler(LinearDecay(2.0, 0.5, steps=16))])
assert np.isfinite(history.history["loss"]).all(), history.history
temperature = float(keras.ops.convert_to_numpy(model.layers[2].temperature))
assert abs(temperature - 0.5) < 1e-6, temperature
path = os.path.join(tempfile.mkdtemp(), "model.keras")
model.save(path)
loaded = keras.saving.load_model(path)
for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
    np.testing.assert_allclose(a, b, rtol=1e-6)
sample = keras.ops.convert_to_numpy(ops.gumbel_softmax(np.zeros((2, 1), "float32"), 0.5, seed=1))
print(f"core on {keras.backend.backend()} without TensorFlow: trained, saved, loaded "
      f"(loss {history.history['loss'][0]:.3f} -> {history.history['loss'][-1]:.3f}); "
      f"{sys.version.split()[0]}")
