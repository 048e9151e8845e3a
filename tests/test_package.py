import os
import subprocess
import sys

import pytest

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


# The packages of the `demos` extra (setup.cfg), as modules.
DEMO_PACKAGES = ("matplotlib", "mlxtend", "tensorboard", "tensorflow_datasets", "importlib_resources")


def test_models_export_data_and_distribute_import_no_demo_package():
    # keras_gumbel.models is to be registered at `import keras_gumbel`: it
    # must add none of the demos' packages (nor pandas or scikit-learn) to
    # what the core loads. (The core's own imports are checked apart.)
    heavy = DEMO_PACKAGES + ("pandas", "sklearn")
    code = (
        "import sys, json; import keras_gumbel; "
        f"core = {{m for m in {heavy!r} if m in sys.modules}}; "
        "import keras_gumbel.models, keras_gumbel.export, keras_gumbel.data, "
        "keras_gumbel.distribute; "
        f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules and m not in core)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# A core install lacks the demos' packages: simulated by blocking one.
BLOCK_MATPLOTLIB = "import sys; sys.modules['matplotlib'] = None; "


@pytest.mark.parametrize(
    "command",
    [
        "from keras_gumbel.cli import train_gan_main; train_gan_main(['--output-dir', OUT])",
        "from keras_gumbel.cli import export_main; export_main(['model.keras', OUT])",
        "import runpy; sys.argv = ['scripts/train_vae.py', '--output-dir', OUT]; "
        "runpy.run_path('scripts/train_vae.py', run_name='__main__')",
    ],
    ids=["train-gan", "export", "scripts/train_vae.py"],
)
def test_commands_without_the_demos_extra_exit_with_the_install_hint(tmp_path, command):
    out = tmp_path / "out"
    code = BLOCK_MATPLOTLIB + f"OUT = {str(out)!r}; " + command
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=root
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "keras-gumbel" in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "missing: matplotlib" in lines[0]
    assert lines[0].endswith('install it with: pip install "keras_gumbel[demos]"')
    assert not out.exists()
