"""Feature selection (keras_gumbel/apps/feature_selection): the selector
layers of the application, the baselines' pixels, the recipe's checks and
outputs, and the command's exit statuses. Runs are tiny (the bundled MNIST
subset, a few hundred images, one or two epochs)."""

import json

import keras
import numpy as np
import pytest

from keras_gumbel.apps.feature_selection.cli import select_features_main
from keras_gumbel.apps.feature_selection.model import (
    FixedSelect,
    IndirectConcreteSelect,
    random_pixels,
    variance_pixels,
)
from keras_gumbel.recipes.feature_selection import (
    METHODS,
    SelectionConfig,
    build_selector,
    select_features,
)
from helpers import run_command_in_process

TINY = dict(source="bundled", train_images=300, epochs=2, batch_size=50, k=10, verbose=0)


def tiny(**kwargs):
    return SelectionConfig(**{**TINY, "seed": 3, **kwargs})


# -- the baselines' pixels ------------------------------------------------------


def test_variance_pixels_are_the_k_of_highest_variance():
    rng = np.random.default_rng(0)
    scale = rng.permutation(20).astype(np.float64)
    images = rng.normal(size=(500, 20)) * scale
    chosen = variance_pixels(images, 5)
    np.testing.assert_array_equal(chosen, np.sort(np.argsort(-np.var(images, axis=0))[:5]))
    # Constant pixels tie: the lower indices win.
    np.testing.assert_array_equal(variance_pixels(np.ones((10, 6)), 3), [0, 1, 2])


def test_random_pixels_are_distinct_seeded_and_cover_every_pixel():
    a, b = random_pixels(784, 50, 1), random_pixels(784, 50, 1)
    np.testing.assert_array_equal(a, b)
    assert np.unique(a).size == 50 and a.min() >= 0 and a.max() < 784
    assert not np.array_equal(a, random_pixels(784, 50, 2))
    # Uniform over the pixels: each of 10 is chosen 3 times in 10 about as
    # often; 2,000 draws, a binomial(2000, 0.3) count per pixel, 5 sigma.
    counts = np.bincount(np.concatenate([random_pixels(10, 3, s) for s in range(2000)]),
                         minlength=10)
    sigma = np.sqrt(2000 * 0.3 * 0.7)
    assert np.all(np.abs(counts - 600) < 5 * sigma), counts


# -- the layers -----------------------------------------------------------------


def test_fixed_select_keeps_its_features_and_round_trips(tmp_path):
    x = np.arange(24, dtype="float32").reshape(2, 12)
    layer = FixedSelect([7, 2, 11])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x[:, [7, 2, 11]])
    model = keras.Sequential([keras.Input((12,)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), x[:, [7, 2, 11]])
    for bad in ([], [1, 1], [1.5], [-1]):
        with pytest.raises(ValueError, match="indices"):
            FixedSelect(bad)
    with pytest.raises(ValueError, match="indices"):
        FixedSelect([12])(x)


@pytest.mark.parametrize("method", ["independent", "subset"])
def test_indirect_select_learns_logits_through_its_vectors(method, tmp_path):
    layer = IndirectConcreteSelect(3, dim=5, method=method, temperature=0.5, seed=1)
    x = np.random.default_rng(0).random((4, 10)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    assert y.shape == (4, 3)
    names = sorted(v.path.split("/")[-1] for v in layer.trainable_variables)
    assert names == ["bias", "kernel", "vectors"]
    shape = (10,) if method == "subset" else (3, 10)
    assert tuple(layer.logits.shape) == shape
    # Outside training: exactly the selected features.
    chosen = layer.selected_indices()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x[:, chosen])
    if method == "subset":
        assert layer.unique_features() == 3
    # Gradients reach every weight of P @ W + b.
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    grads = tape.gradient(loss, layer.trainable_variables)
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in grads)
    model = keras.Sequential([keras.Input((10,)), layer])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.layers[0].selected_indices(), chosen)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), x[:, chosen])


# -- the recipe -----------------------------------------------------------------


@pytest.mark.parametrize("change, needle", [
    (dict(k=0), "k must be"),
    (dict(k=785), "k must be an integer in [1, 784]"),
    (dict(k=2.5), "k must be"),
    (dict(k=True), "k must be"),
    (dict(temperature=0.0), "temperature"),
    (dict(final_temperature=-1.0), "final_temperature"),
    (dict(method="lasso"), "method"),
    (dict(dropout=1.0), "dropout"),
    (dict(epochs=0), "epochs"),
    (dict(method="cae", ip_dim=4), "ip_dim is for method='ip-cae'"),
])
def test_bad_configs_are_refused_naming_the_argument(change, needle):
    with pytest.raises(ValueError) as error:
        SelectionConfig(**{**TINY, **change})
    assert needle in str(error.value)
    assert "received" in str(error.value)


def test_methods_take_their_recipe_and_explicit_fields_override():
    cae = SelectionConfig(method="cae")
    assert (cae.epochs, cae.learning_rate, cae.temperature, cae.final_temperature) == (
        300, 1e-3, 10.0, 0.01)
    assert cae.hidden_units() == (75,) and cae.resolved_batch_size(60000) == 234
    assert cae.resolved_batch_size(1000) == 16
    assert SelectionConfig(method="cae", epochs=7, k=20).epochs == 7
    assert SelectionConfig(method="cae", k=20).hidden_units() == (30,)


@pytest.mark.parametrize("method", METHODS)
def test_a_run_scores_its_selection_and_writes_its_files(method, tmp_path):
    result = select_features(tiny(method=method, output_dir=str(tmp_path)))
    r = result.results
    assert len(r["selected"]) == 10 and all(0 <= i < 784 for i in r["selected"])
    assert r["unique_features"] == len(set(r["selected"]))
    if method not in ("cae", "ip-cae"):
        assert r["unique_features"] == 10
    # The scores are of the exact selection: recomputed here from the files.
    loaded = keras.saving.load_model(tmp_path / "selector.keras")
    from keras_gumbel.apps.common.mnist import mnist_arrays

    test_images, test_labels = mnist_arrays("test", "bundled")
    x = test_images.astype("float32") / 255.0
    reconstruction = loaded.predict(x, verbose=0)
    np.testing.assert_allclose(np.mean((reconstruction - x) ** 2), r["test_mse"], rtol=1e-4)
    np.testing.assert_array_equal(loaded.get_layer("selector").selected_indices(), r["selected"])
    # 1,000 test images: the accuracy is a multiple of 1/1000, and better
    # than chance (0.1, whose standard deviation is 0.0095 here: 5 sigma).
    assert 0.15 < r["test_accuracy"] <= 1.0
    assert abs(r["test_accuracy"] * 1000 - round(r["test_accuracy"] * 1000)) < 1e-6
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(r))
    for name in ("selected_pixels.png", "reconstructions.png", "loss_curves.png", "history.json",
                 "history.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert not (tmp_path / "backup").exists()  # deleted when the run completes
    assert r["seconds"] >= r["train_seconds"] > 0


def test_the_same_seed_selects_the_same_pixels():
    a = select_features(tiny(method="subset")).results
    b = select_features(tiny(method="subset")).results
    assert a["selected"] == b["selected"] and a["test_mse"] == b["test_mse"]
    c = select_features(tiny(method="subset", seed=4)).results
    assert c["test_mse"] != a["test_mse"]


def test_the_temperature_falls_from_10_to_001_and_the_selectors_sharpen():
    config = tiny(method="cae", epochs=6, learning_rate=0.05)
    initial = build_selector(config, np.zeros((1, 784), "float32"))
    initial.build((None, 784))
    before = float(np.mean(np.max(keras.ops.convert_to_numpy(
        keras.ops.softmax(initial.logits, axis=-1)), axis=-1)))
    result = select_features(config)
    # Logged at each epoch's start: a factor 1000 ** (1 / 6) per epoch.
    np.testing.assert_allclose(result.history["temperature"],
                               10.0 * 1000.0 ** (-np.arange(6) / 6), rtol=1e-5)
    assert result.results["mean_max_probability"] > 1.2 * before


# -- the command ----------------------------------------------------------------


def select_in_process(*args, cwd):
    return run_command_in_process(select_features_main, "keras-gumbel-select-features", *args,
                                  cwd=cwd)


@pytest.mark.parametrize("args, needle", [
    (["--k", "0"], "k must be"),
    (["--k", "900"], "k must be an integer in [1, 784]"),
    (["--k", "2.5"], "invalid int value"),
    (["--temperature", "0"], "temperature must be"),
    (["--method", "lasso"], "invalid choice"),
])
def test_bad_flags_are_usage_errors(args, needle, tmp_path):
    run = select_in_process("--output-dir", tmp_path / "out", *args, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_an_output_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    run = select_in_process("--output-dir", tmp_path / "file", cwd=tmp_path)
    assert run.returncode == 2 and "output_dir" in run.stderr, run.stderr
    assert (tmp_path / "file").read_text() == "x"


def test_a_finished_run_is_not_overwritten_without_overwrite(tmp_path):
    args = ["--source", "bundled", "--train-images", "200", "--epochs", "1", "--batch-size", "50",
            "--k", "5", "--seed", "1", "--verbose", "0", "--output-dir", tmp_path / "out"]
    first = select_in_process(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "out" / "results.json").read_text()
    again = select_in_process(*args, cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr, again.stderr
    assert (tmp_path / "out" / "results.json").read_text() == before
    replaced = select_in_process(*args, "--overwrite", "--seed", "2", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((tmp_path / "out" / "results.json").read_text())["seed"] == 2
