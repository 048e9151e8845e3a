"""Test configuration: the Keras backend of the run, and which files run on it.

Keras picks its backend once per process, when it is first imported, so a
run tests one backend:

    python -m pytest -q                      # TensorFlow: every test
    python -m pytest -q --backend jax        # JAX: the core's tests
    python -m pytest -q --backend torch      # PyTorch: the core's tests

`--backend` (or, without it, the `KERAS_BACKEND` environment variable;
default `tensorflow`) is set before any test module imports Keras. On JAX and
PyTorch only the core's test files (`CORE_TESTS`) are collected: the demos
(tf.data, the GAN and VAE, SavedModel export, tf.distribute) are
TensorFlow-only. Tests of TensorFlow's own machinery inside those files carry
`@pytest.mark.tensorflow_only`. Both are deselected loudly: the header names
the files left out, and pytest's summary counts the deselected tests.
"""

import os
import sys

import pytest

BACKENDS = ("tensorflow", "jax", "torch")

# The test files of the core (ops, densities, layers, schedules, the
# TemperatureScheduler callback, the estimators, the subset samplers, the
# RAdam optimizer, the package's import): they run on every backend.
CORE_TESTS = (
    "test_callbacks.py",
    "test_checks.py",
    "test_docs.py",  # the docs pages; each names its backends on its first line
    "test_densities.py",
    "test_estimators.py",
    "test_layer_harness.py",
    "test_layers.py",
    "test_ops.py",
    "test_optimizers.py",
    "test_package.py",
    "test_properties.py",
    "test_random.py",
    "test_schedules.py",
    "test_subsets.py",
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="the Keras backend of this run (default: $KERAS_BACKEND, else "
        "tensorflow); on jax and torch only the core's test files run",
    )


def _backend(config):
    backend = config.getoption("--backend") or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        raise pytest.UsageError(
            f"KERAS_BACKEND must be one of {BACKENDS} for these tests, received "
            f"KERAS_BACKEND={backend!r}"
        )
    return backend


def pytest_configure(config):
    backend = _backend(config)
    if "keras" in sys.modules:
        # Too late to choose: something imported Keras before this hook.
        import keras

        if keras.backend.backend() != backend:
            raise pytest.UsageError(
                f"Keras was imported with the {keras.backend.backend()!r} backend "
                f"before the tests could select {backend!r}"
            )
    os.environ["KERAS_BACKEND"] = backend
    config.keras_backend = backend
    config.addinivalue_line(
        "markers",
        "tensorflow_only: tests TensorFlow's own machinery (TFP samples, tf.function, "
        "XLA clusters); deselected on the other backends",
    )
    config.addinivalue_line(
        "markers",
        "backends(*names): runs only on the named backends; deselected on the others",
    )


def _is_test_file(path):
    return path.suffix == ".py" and path.name.startswith("test_")


def pytest_ignore_collect(collection_path, config):
    if config.keras_backend == "tensorflow" or not _is_test_file(collection_path):
        return None
    return collection_path.name not in CORE_TESTS or None


def pytest_report_header(config):
    backend = config.keras_backend
    lines = [f"keras backend: {backend}"]
    if backend != "tensorflow":
        lines.append(
            f"TensorFlow-only test files, not run on {backend}: {', '.join(_left_out_files())}; "
            f"tests marked tensorflow_only or backends(...) without {backend!r} are deselected"
        )
    return lines


def _left_out_files():
    here = os.path.dirname(os.path.abspath(__file__))
    return sorted(
        name for name in os.listdir(here)
        if name.startswith("test_") and name.endswith(".py") and name not in CORE_TESTS
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Also under -q, which hides the header: what this backend did not run.
    backend = config.keras_backend
    if backend != "tensorflow":
        terminalreporter.write_line(
            f"keras backend {backend}: the TensorFlow-only test files were not run "
            f"({', '.join(_left_out_files())}); tensorflow_only tests are deselected"
        )


def pytest_collection_modifyitems(config, items):
    backend = config.keras_backend
    kept, dropped = [], []
    for item in items:
        allowed = None
        if item.get_closest_marker("tensorflow_only"):
            allowed = ("tensorflow",)
        marker = item.get_closest_marker("backends")
        if marker:
            unknown = set(marker.args) - set(BACKENDS)
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown backends {sorted(unknown)}")
            allowed = marker.args
        (dropped if allowed is not None and backend not in allowed else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def mixed_policy():
    """Sets a global dtype policy for one test and restores the old one."""
    import keras

    old = keras.config.dtype_policy()

    def set_policy(name):
        keras.config.set_dtype_policy(name)

    yield set_policy
    keras.config.set_dtype_policy(old)
