"""SavedModel export: the exported models load and run with TensorFlow only."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gumbel import ops as gumbel_ops
from keras_gumbel.apps.export_command import export_main
from keras_gumbel.data import number_stream
from keras_gumbel.export import export_generator, export_vae
from keras_gumbel.models import CategoricalGenerator, GumbelGAN
import helpers
from helpers import assert_frequencies, run_command_in_process

# Under pytest-xdist, this file's tests share a worker: its module fixtures
# are built once.
pytestmark = pytest.mark.xdist_group("export")

K = 5  # the GAN's categories
N_FREQ = 20000  # draws for the frequency check
SEED_BIG = 2**32 + 7  # differs from seed 7 in the high 32 bits only

# Runs in a fresh interpreter that imports TensorFlow and NumPy only; any
# import of keras_gumbel fails. It calls every signature and saves the
# results in outputs.npz (dtypes and shapes kept) for the tests to check.
LOADER = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np


    class BlockKerasGumbel:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "keras_gumbel":
                raise ImportError(f"{name} imported while serving a SavedModel")
            return None


    sys.meta_path.insert(0, BlockKerasGumbel())
    import tensorflow as tf

    root = sys.argv[1]
    x = np.load(f"{root}/x.npy")
    out, signatures = {}, {}


    def seed(value):
        return tf.constant(value, tf.int64)


    for name in ("gan", "generator", "gan_cli"):
        served = tf.saved_model.load(f"{root}/{name}")
        sig = served.signatures
        signatures[name] = sorted(sig.keys())
        out[f"{name}__probs"] = sig["probs"]()["probs"].numpy()
        out[f"{name}__method_probs"] = served.probs()["probs"].numpy()
        for key, n, s in [("a", 64, 3), ("b", 64, 3), ("c", 64, 4), ("big", 64, SEED_BIG),
                          ("big7", 64, 7), ("freq", N_FREQ, 11)]:
            draws = sig["sample"](n=tf.constant(n, tf.int32), seed=seed(s))
            out[f"{name}__sample_{key}_values"] = draws["values"].numpy()
            out[f"{name}__sample_{key}_one_hot"] = draws["one_hot"].numpy()
        method = served.sample(tf.constant(64), seed(3))
        out[f"{name}__method_sample_values"] = method["values"].numpy()

    for name in ("vae", "vae_cli"):
        served = tf.saved_model.load(f"{root}/{name}")
        sig = served.signatures
        signatures[name] = sorted(sig.keys())
        for key in ("a", "b"):
            encoded = sig["encode"](images=tf.constant(x))
            out[f"{name}__encode_{key}_codes"] = encoded["codes"].numpy()
            out[f"{name}__encode_{key}_logits"] = encoded["logits"].numpy()
        codes = tf.constant(out[f"{name}__encode_a_codes"])
        out[f"{name}__decode"] = sig["decode"](codes=codes)["images"].numpy()
        out[f"{name}__reconstruct"] = sig["reconstruct"](images=tf.constant(x))["images"].numpy()
        out[f"{name}__serving_default"] = sig["serving_default"](images=tf.constant(x))[
            "images"
        ].numpy()
        out[f"{name}__method_reconstruct"] = served.reconstruct(tf.constant(x))["images"].numpy()
        for key, s in [("a", 5), ("b", 5), ("c", 6)]:
            drawn = sig["sample"](n=tf.constant(8, tf.int32), seed=seed(s))
            out[f"{name}__sample_{key}_codes"] = drawn["codes"].numpy()
            out[f"{name}__sample_{key}_images"] = drawn["images"].numpy()

    assert "keras_gumbel" not in sys.modules, "keras_gumbel was imported"
    np.savez(f"{root}/outputs.npz", **out)
    with open(f"{root}/signatures.json", "w") as f:
        json.dump(signatures, f)
    """
).replace("SEED_BIG", str(SEED_BIG)).replace("N_FREQ", str(N_FREQ))


def small_vae():
    return helpers.small_vae(latent_dim=4, num_categories=3, input_dim=16, units=(8,), seed=0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Trains a small GAN and VAE, exports them (directly and through the
    CLI from .keras files), and runs LOADER on the exports once."""
    root = tmp_path_factory.mktemp("export")
    gan = GumbelGAN(CategoricalGenerator(K, temperature=0.5, seed=0), generator_steps=3)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.5),
        g_optimizer=keras.optimizers.SGD(0.5),
        jit_compile=False,
    )
    gan.fit(number_stream(batch_size=32, seed=0), epochs=1, steps_per_epoch=10, verbose=0)
    vae = small_vae()
    vae.compile()
    x = np.random.default_rng(0).uniform(size=(64, 16)).astype("float32")
    vae.fit(x, batch_size=32, epochs=1, verbose=0)
    np.save(root / "x.npy", x[:10])

    assert export_generator(gan, root / "gan") == os.fspath(root / "gan")
    export_generator(gan.generator, root / "generator")
    assert export_vae(vae, root / "vae") == os.fspath(root / "vae")
    gan.save(root / "gan.keras")
    vae.save(root / "vae.keras")
    export_main([str(root / "gan.keras"), str(root / "gan_cli")])
    export_main([str(root / "vae.keras"), str(root / "vae_cli")])

    (root / "loader.py").write_text(LOADER)
    result = subprocess.run(
        [sys.executable, str(root / "loader.py"), str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = dict(np.load(root / "outputs.npz"))
    signatures = json.loads((root / "signatures.json").read_text())
    return {"gan": gan, "vae": vae, "x": x[:10], "out": outputs, "signatures": signatures,
            "root": root}


def test_generator_signatures_shapes_and_probs(exported):
    out, probs = exported["out"], exported["gan"].generator.probs.numpy()
    assert exported["signatures"]["gan"] == ["probs", "sample", "serving_default"]
    for name in ("gan", "generator", "gan_cli"):
        for key in ("probs", "method_probs"):
            assert out[f"{name}__{key}"].dtype == np.float32
            assert out[f"{name}__{key}"].shape == (K,)
            np.testing.assert_allclose(out[f"{name}__{key}"], probs, rtol=1e-6)
    values, one_hot = out["gan__sample_a_values"], out["gan__sample_a_one_hot"]
    assert values.dtype == np.int64 and values.shape == (64,)
    assert one_hot.dtype == np.float32 and one_hot.shape == (64, K)
    np.testing.assert_array_equal(one_hot, np.eye(K, dtype=np.float32)[values])


def test_generator_sample_is_gumbel_max_and_reproducible(exported):
    out, gan = exported["out"], exported["gan"]
    a = out["gan__sample_a_values"]
    np.testing.assert_array_equal(out["gan__sample_b_values"], a)  # same seed
    np.testing.assert_array_equal(out["gan__method_sample_values"], a)
    assert (out["gan__sample_c_values"] != a).any()  # another seed
    # int64 seeds that differ only above 32 bits draw differently.
    assert (out["gan__sample_big_values"] != out["gan__sample_big7_values"]).any()
    # Exactly the library's Gumbel-max draws with the same integer seed.
    logits = keras.ops.broadcast_to(gan.generator.logits, (64, K))
    expected = np.argmax(keras.ops.convert_to_numpy(gumbel_ops.gumbel_max(logits, seed=3)), -1)
    np.testing.assert_array_equal(a, expected)
    # An export of the .keras file and of the bare generator draw the same.
    for name in ("generator", "gan_cli"):
        np.testing.assert_array_equal(out[f"{name}__sample_a_values"], a)


def test_generator_sample_frequencies_match_probs(exported):
    values = exported["out"]["gan__sample_freq_values"]
    assert values.shape == (N_FREQ,)
    probs = exported["gan"].generator.probs.numpy()
    assert probs.max() - probs.min() > 0.1  # trained away from uniform
    assert_frequencies(np.bincount(values, minlength=K), probs)


def test_vae_signatures_match_the_keras_model(exported):
    out, vae, x = exported["out"], exported["vae"], exported["x"]
    assert exported["signatures"]["vae"] == [
        "decode", "encode", "reconstruct", "sample", "serving_default"
    ]
    logits, codes = (keras.ops.convert_to_numpy(t) for t in vae.encode(x))
    reconstruction = keras.ops.convert_to_numpy(vae.reconstruct(x))
    for name in ("vae", "vae_cli"):
        encoded_codes = out[f"{name}__encode_a_codes"]
        assert encoded_codes.dtype == np.int32 and encoded_codes.shape == (10, 4)
        assert out[f"{name}__encode_a_logits"].dtype == np.float32
        assert out[f"{name}__encode_a_logits"].shape == (10, 4, 3)
        # Deterministic: a second call gives the same codes and logits.
        np.testing.assert_array_equal(out[f"{name}__encode_b_codes"], encoded_codes)
        np.testing.assert_array_equal(
            out[f"{name}__encode_b_logits"], out[f"{name}__encode_a_logits"]
        )
        np.testing.assert_array_equal(encoded_codes, codes)
        np.testing.assert_allclose(out[f"{name}__encode_a_logits"], logits, rtol=1e-5, atol=1e-6)
        for key in ("decode", "reconstruct", "serving_default", "method_reconstruct"):
            images = out[f"{name}__{key}"]
            assert images.dtype == np.float32 and images.shape == (10, 16), key
            # Graph and eager kernels may round differently in the last bit.
            np.testing.assert_allclose(images, reconstruction, rtol=1e-5, atol=1e-6, err_msg=key)


def test_vae_sample_is_reproducible_and_decodes_prior_codes(exported):
    out, vae = exported["out"], exported["vae"]
    codes, images = out["vae__sample_a_codes"], out["vae__sample_a_images"]
    assert codes.dtype == np.int32 and codes.shape == (8, 4)
    assert images.dtype == np.float32 and images.shape == (8, 16)
    np.testing.assert_array_equal(out["vae__sample_b_codes"], codes)
    np.testing.assert_array_equal(out["vae__sample_b_images"], images)
    assert (out["vae__sample_c_codes"] != codes).any()
    np.testing.assert_array_equal(codes, keras.ops.convert_to_numpy(vae.sample(8, seed=5)))
    np.testing.assert_allclose(
        images, keras.ops.convert_to_numpy(vae.decode(codes)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(out["vae_cli__sample_a_codes"], codes)


@pytest.mark.parametrize("name", ["vae", "vae_cli"])
def test_vae_signatures_refuse_out_of_range_codes_and_bad_pixels(exported, name):
    served = tf.saved_model.load(os.fspath(exported["root"] / name))
    decode, encode = served.signatures["decode"], served.signatures["encode"]
    for bad in (3, -1, 1_000_000):  # 3 categories
        codes = tf.constant([[0, 1, 2, 0], [2, 2, 1, bad]], tf.int32)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must be integer codes in \[0, 3\)"):
            decode(codes=codes)
    edges = decode(codes=tf.constant([[0, 0, 0, 0], [2, 2, 2, 2]], tf.int32))["images"]
    assert edges.shape == (2, 16)
    for bad in (np.nan, np.inf, 255.0, -0.1):
        x = exported["x"].copy()
        x[3, 7] = bad
        message = r"images must be finite pixel values in \[0, 1\]"
        for call in (lambda: encode(images=tf.constant(x)),
                     lambda: served.signatures["reconstruct"](images=tf.constant(x)),
                     lambda: served.signatures["serving_default"](images=tf.constant(x)),
                     lambda: served.reconstruct(tf.constant(x))):
            with pytest.raises(tf.errors.InvalidArgumentError, match=message):
                call()
    edges = np.array([[0.0] * 16, [1.0] * 16], np.float32)
    assert encode(images=tf.constant(edges))["codes"].shape == (2, 4)


# The int64 range at its edges and around 2**31 and 2**32, where seed
# mappings that fold or truncate differ.
INT64_SEEDS = [0, 1, 7, 2**31 - 3, 2**31 - 2, 2**31 - 1, 2**31, 2**32 + 5, 2**62, 2**63 - 1,
               -1, -(2**31), -(2**63)]


@pytest.fixture(scope="module")
def served(exported):
    root = exported["root"]
    return {name: tf.saved_model.load(os.fspath(root / name)) for name in ("gan", "vae")}


@pytest.mark.parametrize("seed", INT64_SEEDS, ids=str)
def test_exported_samples_equal_the_keras_draws_for_every_int64_seed(exported, served, seed):
    codes = served["vae"].signatures["sample"](n=tf.constant(32), seed=tf.constant(seed, tf.int64))
    expected = keras.ops.convert_to_numpy(exported["vae"].sample(32, seed=seed))
    np.testing.assert_array_equal(codes["codes"].numpy(), expected)
    values = served["gan"].signatures["sample"](n=tf.constant(64), seed=tf.constant(seed, tf.int64))
    logits = keras.ops.broadcast_to(exported["gan"].generator.logits, (64, K))
    one_hot = keras.ops.convert_to_numpy(gumbel_ops.gumbel_max(logits, seed=seed))
    np.testing.assert_array_equal(values["values"].numpy(), np.argmax(one_hot, -1))


def load_probs(path):
    # The loaded object must outlive the call: it owns the variables.
    served = tf.saved_model.load(os.fspath(path))
    return served.probs()["probs"].numpy()


@pytest.fixture
def generator():
    generator = CategoricalGenerator(3, seed=0)
    generator.logits.assign([0.0, 1.0, 2.0])
    return generator


def test_existing_folder_is_refused_unless_overwrite(tmp_path, generator):
    path = tmp_path / "model"
    path.mkdir()  # an empty folder is fine
    export_generator(generator, path)
    before = sorted(os.listdir(path))
    with pytest.raises(ValueError, match="path already exists.*overwrite=True") as info:
        export_generator(generator, path)
    assert repr(os.fspath(path)) in str(info.value)
    assert sorted(os.listdir(path)) == before
    (tmp_path / "file").write_text("not a model")
    with pytest.raises(ValueError, match="path already exists"):
        export_vae(small_vae(), tmp_path / "file")
    assert (tmp_path / "file").read_text() == "not a model"
    generator.logits.assign([2.0, 1.0, 0.0])
    export_generator(generator, path, overwrite=True)
    expected = keras.ops.convert_to_numpy(generator.probs)
    np.testing.assert_allclose(load_probs(path), expected, rtol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["file", "model"]  # no temporary folders


# The class `keras.export.ExportArchive()` returns for this backend.
ARCHIVE_CLASS = type(keras.export.ExportArchive())
REAL_WRITE_OUT = ARCHIVE_CLASS.write_out


def _failing_write_out(self, filepath, *args, **kwargs):
    # Writes the SavedModel (as far as it gets), then fails, as a crash
    # would between writing and renaming into place.
    REAL_WRITE_OUT(self, filepath, *args, **kwargs)
    assert "saved_model.pb" in os.listdir(filepath)
    raise RuntimeError("injected failure")


def test_failure_mid_export_leaves_nothing_behind(tmp_path, generator, monkeypatch):
    monkeypatch.setattr(ARCHIVE_CLASS, "write_out", _failing_write_out)
    with pytest.raises(RuntimeError, match="injected failure"):
        export_generator(generator, tmp_path / "model")
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError, match="injected failure"):
        export_vae(small_vae(), tmp_path / "nested" / "vae")
    assert os.listdir(tmp_path / "nested") == []


def test_failure_while_overwriting_keeps_the_old_model(tmp_path, generator, monkeypatch):
    path = tmp_path / "model"
    export_generator(generator, path)
    old = load_probs(path)
    generator.logits.assign([5.0, 0.0, 0.0])
    with monkeypatch.context() as m:
        m.setattr(ARCHIVE_CLASS, "write_out", _failing_write_out)
        with pytest.raises(RuntimeError, match="injected failure"):
            export_generator(generator, path, overwrite=True)
    # The rename into place fails too: the old model is put back.
    real_replace, calls = os.replace, []

    def failing_replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError("injected rename failure")
        return real_replace(src, dst)

    monkeypatch.setattr("keras_gumbel.apps.common.export.os.replace", failing_replace)
    with pytest.raises(OSError, match="injected rename failure"):
        export_generator(generator, path, overwrite=True)
    assert os.listdir(tmp_path) == ["model"]
    np.testing.assert_array_equal(load_probs(path), old)


def test_wrong_model_types_are_refused(tmp_path, generator, capsys):
    with pytest.raises(ValueError, match="GumbelGAN or CategoricalGenerator.*DiscreteVAE"):
        export_generator(small_vae(), tmp_path / "a")
    with pytest.raises(ValueError, match="models.DiscreteVAE, received .* CategoricalGenerator"):
        export_vae(generator, tmp_path / "b")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "dense.keras")
    with pytest.raises(SystemExit):
        export_main([str(tmp_path / "dense.keras"), str(tmp_path / "c")])
    assert "GumbelGAN or DiscreteVAE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_main([str(tmp_path / "missing.keras"), str(tmp_path / "c")])
    assert "no such file" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["dense.keras"]


def test_cli_refuses_an_existing_folder_without_overwrite(tmp_path, generator, capsys):
    gan = GumbelGAN(generator)
    gan.save(tmp_path / "gan.keras")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    with pytest.raises(SystemExit):
        export_main([str(tmp_path / "gan.keras"), str(tmp_path / "out")])
    assert "overwrite" in capsys.readouterr().err
    assert os.listdir(tmp_path / "out") == ["keep.txt"]
    assert export_main([str(tmp_path / "gan.keras"), str(tmp_path / "out"), "--overwrite"])
    assert "saved_model.pb" in os.listdir(tmp_path / "out")


# The installed console script, as a user or a scheduler runs it.
EXPORT_COMMAND = os.path.join(os.path.dirname(sys.executable), "keras-gumbel-export")


def run_export_subprocess(*args, cwd):
    return subprocess.run(
        [EXPORT_COMMAND, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def run_export_command(*args, cwd):
    # What the console script runs, in this process (a fresh TensorFlow
    # costs ~5 s a call); each check runs the script itself
    # (run_export_subprocess) on one case at least.
    return run_command_in_process(export_main, "keras-gumbel-export", *args, cwd=cwd)


def assert_usage_error(result, *fragments):
    """Exit status 2, one error line naming the problem, no traceback."""
    errors = [line for line in result.stderr.splitlines() if line.startswith("keras-gumbel-export: error:")]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def snapshot(folder):
    return sorted(
        (os.path.relpath(os.path.join(root, name), folder), os.path.getsize(os.path.join(root, name)))
        for root, _, files in os.walk(folder) for name in files
    ) + sorted(os.path.relpath(os.path.join(root, d), folder) for root, dirs, _ in os.walk(folder) for d in dirs)


def test_cli_names_a_model_that_is_not_a_keras_file(tmp_path, generator):
    GumbelGAN(generator).save(tmp_path / "gan.keras")
    data = (tmp_path / "gan.keras").read_bytes()
    (tmp_path / "truncated.keras").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.keras").write_text("not a model")
    (tmp_path / "folder.keras").mkdir()
    before = snapshot(tmp_path)
    for name, run in (("truncated.keras", run_export_subprocess), ("text.keras", run_export_command)):
        error = assert_usage_error(run(name, "out", cwd=tmp_path),
                                   f"MODEL={name!r}", "cannot be read as a zip archive", "truncated")
        assert "not found" not in error.lower()
    assert_usage_error(run_export_command("folder.keras", "out", cwd=tmp_path),
                       "MODEL must be a .keras file, received a folder", "'folder.keras'")
    assert snapshot(tmp_path) == before


def test_cli_refuses_a_folder_that_holds_the_model_before_loading_it(tmp_path, generator):
    run = tmp_path / "out" / "r"
    run.mkdir(parents=True)
    GumbelGAN(generator).save(run / "gan.keras")
    (run / "history.json").write_text("{}")
    before = snapshot(tmp_path)
    # The installed script for the first, the rest in process.
    for run, target in zip([run_export_subprocess] + 4 * [run_export_command],
                           ("out/r", "out", ".", "out/r/gan.keras", "out/../out/r")):
        assert_usage_error(
            run("out/r/gan.keras", target, "--overwrite", cwd=tmp_path),
            "DIR must lie apart from MODEL", f"DIR={target!r}",
        )
    assert snapshot(tmp_path) == before


def test_cli_names_a_target_that_cannot_be_written(tmp_path, generator):
    GumbelGAN(generator).save(tmp_path / "gan.keras")
    (tmp_path / "file").write_text("a file")
    # The installed script: exit status 2 and the one line reach the shell.
    assert_usage_error(run_export_subprocess("gan.keras", "file/export", cwd=tmp_path),
                       "DIR='file/export'", "lies under", "a file")
    if os.geteuid() == 0:  # root writes into read-only folders; not into /sys
        target = "/sys/keras_gumbel_export_test"
    else:
        (tmp_path / "read_only").mkdir(mode=0o555)
        target = str(tmp_path / "read_only" / "export")
    error = assert_usage_error(run_export_command("gan.keras", target, cwd=tmp_path),
                               f"DIR={target!r}", "cannot be written")
    assert ".tmp-" not in error
    assert not os.path.exists(target)


def test_a_failure_to_create_the_temporary_folder_names_the_target(tmp_path, generator, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".tmp-model-x"))

    monkeypatch.setattr("keras_gumbel.apps.common.export.tempfile.mkdtemp", refuse)
    with pytest.raises(PermissionError, match="cannot write the SavedModel .*model'") as info:
        export_generator(generator, tmp_path / "model")
    assert ".tmp-" not in str(info.value)
    assert os.listdir(tmp_path) == []
