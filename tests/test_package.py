import json
import os
import subprocess
import sys

import keras
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
    assert "ImportError" in result.stderr and "KERAS_BACKEND=numpy" in result.stderr
    assert "tensorflow, jax, torch" in result.stderr


def test_import_sets_no_environment_variables():
    before = dict(os.environ)
    result = subprocess.run(
        [sys.executable, "-c", "import os, json; e = dict(os.environ); import keras_gumbel; print(json.dumps(dict(os.environ) == e))"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.stdout.strip().endswith("true"), result.stderr
    assert dict(os.environ) == before


# The demos' dependencies and TFP. `import tensorflow, keras` may load some
# of them itself (Keras imports pandas, matplotlib and scikit-learn when they
# are installed), so the check is on what keras_gumbel adds.
HEAVY = ("tensorflow_datasets", "matplotlib", "mlxtend", "pandas", "sklearn", "tensorboard")

LIGHT_USE = """
import json, sys
import numpy as np
import keras
if keras.backend.backend() == "tensorflow":
    import tensorflow

before = set(sys.modules)
import keras

import keras_gumbel
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli, TemperatureScheduler, ops, schedules

x = np.random.default_rng(0).normal(size=(32, 6)).astype("float32")
inputs = keras.Input((6,))
soft = GumbelSoftmax(temperature=1.0, hard=True, seed=1)(keras.layers.Reshape((2, 3))(inputs))
bits = RelaxedBernoulli(temperature=1.0, seed=2)(inputs)
model = keras.Model(inputs, [keras.layers.Flatten()(soft), bits])
model.compile(optimizer="sgd", loss="mse")
model.fit(x, [x, x], batch_size=8, epochs=2, verbose=0,
          callbacks=[TemperatureScheduler(schedules.ExponentialDecay(1.0, 0.1, 0.5))])
ops.gumbel_softmax(x, 0.5, seed=3), ops.relaxed_bernoulli(x, 0.5, seed=4), ops.gumbel_max(x, seed=5)
heavy = [n for n in sys.argv[1:] if n in sys.modules and n not in before]
tfp_before = "tensorflow_probability" in sys.modules
tf_before = "tensorflow" in sys.modules
dists = []
for layer in model.layers:
    if isinstance(layer, (GumbelSoftmax, RelaxedBernoulli)):
        logits = np.zeros((2, 3), "float32")
        dist = layer.distribution(logits)
        dist.log_prob(layer(logits, training=True))
        dists.append(f"{type(dist).__module__}.{type(dist).__name__}")
tfp_after = "tensorflow_probability" in sys.modules
tf_after = "tensorflow" in sys.modules
print(json.dumps({"heavy": heavy, "tfp_before": tfp_before, "tf_before": tf_before,
                  "tfp_after": tfp_after, "tf_after": tf_after, "dists": dists}))
"""


def test_light_import_loads_no_demo_dependency_and_tfp_only_for_distribution():
    result = subprocess.run(
        [sys.executable, "-c", LIGHT_USE, *HEAVY], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["heavy"] == []
    assert record["tfp_before"] is False
    backend = keras.backend.backend()
    if backend != "tensorflow":
        # Nor TensorFlow, on the other backends.
        assert record["tf_before"] is False
    if backend == "tensorflow":
        # `distribution` returns TFP's distributions, importing TFP then.
        assert record["tfp_after"] is True
        assert record["dists"] == [
            "keras_gumbel._distributions.TFPOneHotCategorical",  # hard=True
            "keras_gumbel._distributions.TFPRelaxedBernoulli",
        ]
    else:
        # Elsewhere its own, on keras_gumbel.ops: neither TFP nor TensorFlow.
        assert record["tfp_after"] is False and record["tf_after"] is False
        assert record["dists"] == [
            "keras_gumbel._distributions.OneHotCategorical",
            "keras_gumbel._distributions.RelaxedBernoulli",
        ]


def test_demos_name_keras_backend_on_other_backends():
    # Each module imported apart, in one fresh process (a failed import
    # leaves nothing in sys.modules, so the next one starts again).
    backend = keras.backend.backend()
    modules = [f"keras_gumbel.{name}" for name in
               ("models", "data", "export", "distribute", "recipes.gan", "recipes.vae",
                "apps.gan.model", "apps.vae.recipe", "apps.common.run")]
    code = (
        "import importlib, json, sys\n"
        "errors = {}\n"
        "for module in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(module)\n"
        "    except Exception as e:\n"
        "        errors[module] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps(errors))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *modules], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    if backend == "tensorflow":
        assert errors == {}
    else:
        assert sorted(errors) == sorted(modules)
        for message in errors.values():
            assert message.startswith("ImportError") and f"KERAS_BACKEND={backend}" in message
            assert "KERAS_BACKEND=tensorflow" in message


def test_core_works_without_the_demo_dependencies_installed():
    # As in an install without the `demos` extra: importing any of them fails.
    blocked = "import sys\nfor name in %r:\n    sys.modules[name] = None\n" % (HEAVY,)
    result = subprocess.run(
        [sys.executable, "-c", blocked + LIGHT_USE, *HEAVY], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["heavy"] == []


# The packages of the `demos` extra (setup.cfg), as modules.
DEMO_PACKAGES = ("matplotlib", "mlxtend", "tensorboard", "tensorflow_datasets", "importlib_resources")


@pytest.mark.tensorflow_only
def test_models_export_data_and_distribute_import_no_demo_package():
    # The models load from a saved file after `import keras_gumbel` alone: they
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


def _run_without_matplotlib(tmp_path, command):
    code = BLOCK_MATPLOTLIB + f"OUT = {str(tmp_path / 'out')!r}; " + command
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=root
    )


@pytest.mark.tensorflow_only
@pytest.mark.parametrize(
    "command",
    [
        "from keras_gumbel.apps.gan.cli import main; sys.argv = ['keras-gumbel-train-gan', "
        "'--output-dir', OUT]; main()",
        "import runpy; sys.argv = ['scripts/train_vae.py', '--output-dir', OUT]; "
        "runpy.run_path('scripts/train_vae.py', run_name='__main__')",
    ],
    ids=["train-gan", "scripts/train_vae.py"],
)
def test_commands_without_the_demos_extra_exit_with_the_install_hint(tmp_path, command):
    result = _run_without_matplotlib(tmp_path, command)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "keras-gumbel" in line]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "missing: matplotlib" in lines[0]
    assert lines[0].endswith('install it with: pip install "keras_gumbel[demos]"')
    assert not (tmp_path / "out").exists()


@pytest.mark.tensorflow_only
def test_export_needs_none_of_the_demos_extra(tmp_path):
    # Export needs TensorFlow only: without matplotlib it gets as far as
    # its own checks (here: a MODEL that does not exist, a usage error).
    result = _run_without_matplotlib(
        tmp_path, "from keras_gumbel.apps.export_command import main; "
        "sys.argv = ['keras-gumbel-export', 'missing.keras', OUT]; main()")
    assert result.returncode == 2, result.stderr
    assert "demos extra" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "keras-gumbel-export: error: MODEL must be a .keras file, received "
        "MODEL='missing.keras' (no such file) (see keras-gumbel-export --help)")


CORE_MODULES = {"keras_gumbel", "keras_gumbel._checks", "keras_gumbel._compat",
                "keras_gumbel._densities", "keras_gumbel._random", "keras_gumbel._subsets",
                "keras_gumbel.callbacks", "keras_gumbel.layers", "keras_gumbel.ops",
                "keras_gumbel.optimizers",
                "keras_gumbel.schedules"}


def test_import_keras_gumbel_loads_only_the_core():
    code = ("import json, sys, keras_gumbel; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('keras_gumbel'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert {"keras_gumbel", "keras_gumbel.ops", "keras_gumbel.layers"} <= loaded
    assert loaded <= CORE_MODULES, sorted(loaded - CORE_MODULES)


# Saves one of each model and layer the package saves, in a process that
# imported keras_gumbel.models; the fresh process that loads them imports
# `keras` and `keras_gumbel` only.
SAVE_ALL = """
import sys
import numpy as np
import keras
from keras_gumbel import GumbelSoftmax, RelaxedBernoulli
from keras_gumbel.models import CategoricalGenerator, DiscreteVAE, GumbelGAN
from keras_gumbel.apps.vae.model import mlp_decoder, mlp_encoder

root = sys.argv[1]
sizes = dict(latent_dim=2, num_categories=3, input_dim=4)
vae = DiscreteVAE(mlp_encoder(**sizes, units=(5,), seed=1), mlp_decoder(**sizes, units=(5,), seed=2),
                  GumbelSoftmax(seed=3), **sizes, seed=0)
vae.save(f"{root}/vae.keras")
GumbelGAN(CategoricalGenerator(4, seed=0)).save(f"{root}/gan.keras")
inputs = keras.Input((6,))
soft = GumbelSoftmax(hard=True, seed=1)(keras.layers.Reshape((2, 3))(inputs))
bits = RelaxedBernoulli(seed=2)(inputs)
keras.Model(inputs, [soft, bits]).save(f"{root}/layers.keras")
x = np.linspace(0, 1, 8, dtype="float32").reshape(2, 4)
np.savez(f"{root}/expected.npz", vae=keras.ops.convert_to_numpy(vae.reconstruct(x)),
         gan=keras.ops.convert_to_numpy(GumbelGAN(CategoricalGenerator(4, seed=0)).generator.probs))
"""

LOAD_AFTER_IMPORT_ONLY = """
import json, sys
import numpy as np
import keras, keras_gumbel

root = sys.argv[1]
expected = np.load(f"{root}/expected.npz")
vae = keras.saving.load_model(f"{root}/vae.keras")
gan = keras.saving.load_model(f"{root}/gan.keras")
layers = keras.saving.load_model(f"{root}/layers.keras")
x = np.linspace(0, 1, 8, dtype="float32").reshape(2, 4)
np.testing.assert_allclose(keras.ops.convert_to_numpy(vae.reconstruct(x)), expected["vae"], rtol=1e-6)
np.testing.assert_allclose(keras.ops.convert_to_numpy(gan.generator.probs), expected["gan"], rtol=1e-6)
soft, bits = layers(np.zeros((2, 6), "float32"), training=True)
print(json.dumps({
    "classes": [type(m).__name__ for m in (vae, gan, gan.generator)],
    "layers": sorted(type(l).__name__ for l in layers.layers if type(l).__module__.startswith("keras_gumbel")),
    "sample_shapes": [list(gan.generator(3).shape), list(vae(x).shape), list(soft.shape), list(bits.shape)],
}))
"""


# The demo models are TensorFlow-only; on other backends test_demos_name_keras_backend_on_other_backends
# checks their error.
@pytest.mark.tensorflow_only
def test_saved_models_and_layers_load_after_import_keras_gumbel_alone(tmp_path):
    def run(code):
        result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    run(SAVE_ALL)
    record = json.loads(run(LOAD_AFTER_IMPORT_ONLY).strip().splitlines()[-1])
    assert record["classes"] == ["DiscreteVAE", "GumbelGAN", "CategoricalGenerator"]
    assert record["layers"] == ["GumbelSoftmax", "RelaxedBernoulli"]
    assert record["sample_shapes"] == [[3, 4], [2, 4], [2, 2, 3], [2, 6]]
