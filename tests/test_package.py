import os
import subprocess
import sys

import keras_gumbel


def test_public_api():
    from keras_gumbel import GumbelSoftmax, TemperatureScheduler, ops, schedules

    assert GumbelSoftmax is keras_gumbel.layers.GumbelSoftmax
    assert TemperatureScheduler is keras_gumbel.callbacks.TemperatureScheduler
    assert callable(ops.gumbel_softmax) and callable(schedules.ExponentialDecay)


def test_other_keras_backend_raises_import_error_naming_keras_backend():
    env = dict(os.environ, KERAS_BACKEND="numpy")
    result = subprocess.run(
        [sys.executable, "-c", "import keras_gumbel"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "KERAS_BACKEND=tensorflow" in result.stderr


def test_import_sets_no_environment_variables():
    before = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", "import os, json; e = dict(os.environ); import keras_gumbel; print(json.dumps(dict(os.environ) == e))"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip().endswith("true"), result.stderr
    assert dict(os.environ) == before
