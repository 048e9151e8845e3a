import csv
import dataclasses
import json
import os
import re
import runpy
import sys

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_gumbel.apps.gan.cli import train_gan_main
from keras_gumbel.apps.vae.cli import train_vae_main
from keras_gumbel.models import DiscreteVAE, GumbelGAN
from keras_gumbel.apps.common.run import RunRefused
from keras_gumbel.recipes.gan import GANConfig, temperature_schedule, train_gan
from keras_gumbel.recipes.vae import VAEConfig, build_vae, train_vae
from helpers import interrupt_vae_run

TINY = ["--epochs", "3", "--steps-per-epoch", "4", "--batch-size", "64",
        "--generator-steps", "2", "--seed", "0", "--no-jit", "--verbose", "0"]


def test_script_end_to_end_writes_model_plot_and_history(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = tmp_path / "run"
    result = train_gan_main(TINY + ["--output-dir", str(out), "--schedule", "linear",
                                    "--final-temperature", "0.1", "--temperature", "1.0"])
    assert os.listdir(cwd) == []  # nothing written to the current folder
    assert sorted(os.listdir(out)) == [
        "gan.keras", "history.csv", "history.json", "probability_errors.png"]
    png = (out / "probability_errors.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    record = json.loads((out / "history.json").read_text())
    assert record["config"]["seed"] == 0 and record["config"]["epochs"] == 3
    assert np.array(record["probs_history"]).shape == (3, 5)
    assert record["tv_distance"] == pytest.approx(result.tv_distance)
    # Updated once per compiled call of steps_per_execution = 4 steps: last at step 8.
    assert record["history"]["temperature"][-1] == pytest.approx(temperature_schedule(result.config)(8))
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["prob_4"]) == pytest.approx(result.probs[4])
    loaded = keras.saving.load_model(out / "gan.keras")
    assert isinstance(loaded, GumbelGAN)
    np.testing.assert_allclose(loaded.generator.probs, result.probs, rtol=1e-6)
    assert int(loaded.optimizer.iterations.numpy()) == 12


def test_script_prints_the_final_table(tmp_path, capsys):
    result = train_gan_main(TINY[:-2] + ["--verbose", "2", "--output-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "category    true p  learned p     error" in printed
    assert f"{4:>8}  {0.6:>8.4f}  {result.probs[4]:>9.4f}" in printed
    assert f"TV distance: {result.tv_distance:.4f}" in printed


def test_same_seed_same_run():
    config = GANConfig(epochs=1, steps_per_epoch=5, batch_size=32, generator_steps=2,
                       seed=4, jit_compile=False, verbose=0)
    a, b = train_gan(config), train_gan(config)
    np.testing.assert_array_equal(a.probs, b.probs)
    assert a.files == {}  # no output_dir: nothing written


def test_no_seed_draws_one_and_reports_it():
    result = train_gan(GANConfig(epochs=1, steps_per_epoch=2, batch_size=8, generator_steps=1,
                                 jit_compile=False, verbose=0))
    assert isinstance(result.config.seed, int)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--probs", "0.5", "0.6"], r"probs must sum to 1 \(within 1e-6\), received probs="),
        (["--probs", "-0.5", "1.5"], "probs must be >= 0"),
        (["--probs", "1"], "at least 2 categories"),
        (["--batch-size", "0"], "batch_size must be an integer >= 1, received batch_size=0"),
        (["--temperature", "0"], "temperature must be a finite number > 0"),
        (["--schedule", "cosine"], "schedule='cosine' needs final_temperature"),
        (["--final-temperature", "0.1"], "final_temperature needs an annealing schedule"),
        (["--schedule", "warp"], "invalid choice: 'warp'"),
        ([], "the following arguments are required: --output-dir"),
        (["--label-smoothing", "1"], r"label_smoothing must be a number in \[0, 1\), received label_smoothing=1.0"),
        (["--label-smoothing", "-0.5"], "received label_smoothing=-0.5"),
    ],
)
def test_script_refuses_bad_flags(tmp_path, capsys, argv, message):
    assert_usage_error(train_gan_main, argv, message, tmp_path, capsys)


def assert_usage_error(main, argv, message, tmp_path, capsys, output_dir=None):
    """`main(argv + --output-dir)` exits with status 2 and `message` on
    stderr before writing anything (into `output_dir`, by default a new
    folder)."""
    folder = tmp_path / "out" if output_dir is None else output_dir

    def state():
        return sorted(os.listdir(folder)) if folder.is_dir() else folder.exists()

    before = state()
    if argv:
        argv = argv + ["--output-dir", str(folder)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert state() == before


# -- the VAE script ------------------------------------------------------------

# A small VAE on 200 images of the bundled MNIST subset: 4 steps per epoch.
VAE_TINY = ["--source", "bundled", "--train-images", "200", "--batch-size", "50",
            "--latent-dim", "4", "--num-categories", "3", "--encoder-units", "32",
            "--decoder-units", "32", "--anneal-every", "1", "--anneal-rate", "0.05",
            "--seed", "0", "--verbose", "0"]


def test_vae_script_end_to_end_writes_pictures_history_and_model(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    out = tmp_path / "run"
    result = train_vae_main(VAE_TINY + ["--epochs", "2", "--output-dir", str(out),
                                        "--log-likelihood-samples", "20",
                                        "--log-likelihood-images", "50",
                                        "--export", str(tmp_path / "served")])
    assert os.listdir(cwd) == []  # nothing written to the current folder
    assert sorted(os.listdir(out)) == [
        "history.csv", "history.json", "logs", "loss_curves.png",
        "reconstructions_epoch_001.png", "reconstructions_epoch_002.png",
        "samples.png", "vae.keras"]  # the backup is gone once the run completed
    for name in ("loss_curves.png", "reconstructions_epoch_002.png", "samples.png"):
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 3000
    assert os.listdir(out / "logs")  # TensorBoard
    record = json.loads((out / "history.json").read_text())
    assert record["source"] == "bundled" and record["config"]["seed"] == 0
    assert record["test"]["hard_loss"] == pytest.approx(result.test["hard_loss"])
    assert -result.test["log_likelihood"] <= result.test["hard_loss"] + 1.0
    # The global step is 8 at the end: temperature max(0.5, exp(-0.05 * 7)),
    # set before the last step.
    assert record["history"]["temperature"][-1] == pytest.approx(np.exp(-0.05 * 7), rel=1e-5)
    assert set(record["history"]) >= {"loss", "kl", "val_loss", "val_hard_loss"}
    loaded = keras.saving.load_model(out / "vae.keras")
    assert isinstance(loaded, DiscreteVAE) and loaded.latent_dim == 4
    assert int(loaded.optimizer.iterations.numpy()) == 8
    # --export: the SavedModel reconstructs as the trained model does.
    served = tf.saved_model.load(str(tmp_path / "served"))
    x = np.random.default_rng(0).uniform(size=(3, 784)).astype(np.float32)
    np.testing.assert_allclose(served.reconstruct(images=x)["images"],
                               result.model.reconstruct(x), rtol=1e-5, atol=1e-6)
    assert result.files["export"] == str(tmp_path / "served")


def test_a_new_run_into_a_finished_runs_folder_is_refused_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    train_vae_main(VAE_TINY + ["--epochs", "2", "--output-dir", str(out)])
    before = {name: os.path.getmtime(out / name) for name in os.listdir(out)}
    capsys.readouterr()
    with pytest.raises(SystemExit) as refused:
        train_vae_main(VAE_TINY + ["--epochs", "1", "--output-dir", str(out)])
    assert refused.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "output-dir holds the outputs of an earlier run" in line or \
        "output_dir holds the outputs of an earlier run" in line, line
    assert "reconstructions_epoch_002.png" in line and "pass --overwrite" in line, line
    assert {name: os.path.getmtime(out / name) for name in os.listdir(out)} == before
    train_vae_main(VAE_TINY[:-2] + ["--verbose", "2", "--epochs", "1", "--output-dir", str(out),
                                     "--overwrite"])
    assert sorted(os.listdir(out)) == [
        "history.csv", "history.json", "logs", "loss_curves.png",
        "reconstructions_epoch_001.png", "samples.png", "vae.keras"]
    # TensorBoard's files of this process only: one event file per writer.
    events = [os.path.join(d, f) for d, _, fs in os.walk(out / "logs") for f in fs]
    assert len(events) == len({os.path.dirname(e) for e in events}), events
    wrote = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Wrote ")]
    assert len(wrote) == 1
    for name in ("reconstructions_epoch_001.png", "samples.png", "loss_curves.png", "vae.keras",
                 "history.json", "history.csv", os.path.join("logs", "")):
        assert str(out / name) in wrote[0], (name, wrote[0])


def test_gan_script_exports_a_saved_model(tmp_path):
    result = train_gan_main(TINY + ["--output-dir", str(tmp_path / "run"),
                                    "--export", str(tmp_path / "served")])
    served = tf.saved_model.load(str(tmp_path / "served"))
    np.testing.assert_allclose(served.probs()["probs"], result.probs, rtol=1e-6)
    # The folder exists now: refused before training without --overwrite.
    with pytest.raises(SystemExit):
        train_gan_main(TINY + ["--output-dir", str(tmp_path / "run2"),
                               "--export", str(tmp_path / "served")])
    assert not (tmp_path / "run2").exists()
    train_gan_main(TINY + ["--output-dir", str(tmp_path / "run2"), "--overwrite",
                           "--export", str(tmp_path / "served")])


def test_vae_script_prints_the_losses(tmp_path, capsys):
    result = train_vae_main(VAE_TINY[:-2] + ["--epochs", "1", "--verbose", "2",
                                             "--output-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "Training on the bundled MNIST subset" in printed
    assert f"test  {result.test['loss']:>9.2f}  {result.test['hard_loss']:>9.2f}" in printed


def test_vae_interrupted_run_resumes_from_its_backup(tmp_path, capsys):
    config = VAEConfig(**{**_vae_config_args(), "epochs": 3, "output_dir": str(tmp_path)})
    interrupt_vae_run(train_vae, config, after_epoch=2)
    backup = tmp_path / "backup"
    # Killed at the end of epoch 2, before its log and backup (written last).
    assert sorted(os.listdir(backup)) == [
        "config.json", "epochs.json", "latest.weights.h5", "training_metadata.json"]
    assert [r["epoch"] for r in json.loads((backup / "epochs.json").read_text())] == [1]
    # Another configuration, or a backup without its record, is refused.
    capsys.readouterr()
    assert_usage_error(train_vae_main, VAE_TINY[:-4] + ["--seed", "1", "--epochs", "3",
                                                       "--learning-rate", "0.01"],
                       r"backup.*differs.*learning_rate 0.001 -> 0.01, seed 0 -> 1.*--restart",
                       tmp_path, capsys, output_dir=tmp_path)
    record = (backup / "config.json").read_text()
    (backup / "config.json").unlink()
    with pytest.raises(RunRefused, match="without a readable record of its configuration"):
        train_vae(config)
    (backup / "config.json").write_text(record)
    # The same configuration (its seed unset: the backup's) resumes after
    # epoch 1; the step count and the temperature continue from the backup
    # (12 steps in all, temperature at step 11), the history holds every epoch.
    resumed = train_vae(dataclasses.replace(config, seed=None))
    assert "resuming from the backup after epoch 1 (of 3)" in capsys.readouterr().out
    assert resumed.config.seed == 0
    assert len(resumed.history["loss"]) == 3
    assert int(resumed.model.optimizer.iterations.numpy()) == 12
    assert resumed.history["temperature"][-1] == pytest.approx(np.exp(-0.05 * 11), rel=1e-5)
    assert not backup.exists()
    with open(tmp_path / "history.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [1, 2, 3]


def _vae_config_args():
    return dict(source="bundled", train_images=200, batch_size=50, latent_dim=4,
                num_categories=3, encoder_units=(32,), decoder_units=(32,), anneal_every=1,
                anneal_rate=0.05, seed=0, verbose=0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "epochs must be an integer >= 1, received epochs=0"),
        (["--temperature", "-1"], "temperature must be a finite number > 0"),
        (["--estimator", "reinmax"], "min_temperature >= 1"),
        (["--estimator", "magic"], "invalid choice: 'magic'"),
        (["--source", "nowhere.npz"], "which is not a file"),
        (["--strategy", "tpu"], "invalid choice: 'tpu'"),
        ([], "the following arguments are required: --output-dir"),
        (["--encoder-units", "0"], "encoder_units must be a non-empty sequence of integers >= 1"),
        (["--hard", "--estimator", "relaxed"], "received hard=True, estimator='relaxed'"),
        (["--samples", "3", "--estimator", "straight_through"],
         "received samples=3, estimator='straight_through'"),
        # Refused by the sampler itself (the model is built before any work).
        (VAE_TINY + ["--estimator", "reinmax", "--trainable-temperature", "--temperature", "1",
                     "--min-temperature", "1"], "cannot be learned; received trainable_temperature=True"),
        (VAE_TINY + ["--export", "{tmp}"], "export_dir must lie apart from output_dir"),
    ],
)
def test_vae_script_refuses_bad_flags(tmp_path, capsys, argv, message):
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert_usage_error(train_vae_main, argv, message, tmp_path, capsys)


def _npz(path, **overrides):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 20),
              "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 10)}
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ("garbage", r"is not an .npz file \(not a zip archive, or a truncated one\)"),
        ("truncated", "is not an .npz file"),
        ({"x_test": None}, r"lacks the keys \['x_test'\]"),
        ({"x_train": np.zeros((20, 27, 28), np.uint8)}, "must be MNIST images of shape"),
        ({"x_train": np.full((20, 28, 28), np.nan)}, r"integer pixel values in \[0, 255\]"),
        ({"x_test": np.full((10, 28, 28), 256.0)}, r"integer pixel values in \[0, 255\]"),
        ({"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.int64)},
         "with N >= 1, received shape"),
        ({"y_test": np.zeros(9, np.int64)}, "one per image"),
    ],
)
def test_vae_script_refuses_bad_npz_content_before_any_work(tmp_path, capsys, content, message):
    path = tmp_path / "mnist.npz"
    if content == "garbage":
        path.write_bytes(b"not an archive\n" * 50)
    else:
        _npz(path, **({} if content == "truncated" else content))
        if content == "truncated":
            path.write_bytes(path.read_bytes()[:4000])
    argv = VAE_TINY[2:] + ["--source", str(path)]
    assert_usage_error(train_vae_main, argv, message, tmp_path, capsys)


def test_gan_script_refuses_an_output_folder_it_cannot_write(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert_usage_error(train_gan_main, TINY, "output_dir must be a folder .* which is a file",
                       tmp_path, capsys, output_dir=tmp_path / "file")
    assert_usage_error(train_gan_main, TINY + ["--export", str(tmp_path / "out" / "served")],
                       "export_dir must lie apart from output_dir", tmp_path, capsys)


def test_commands_exit_0_1_2_and_130(tmp_path, monkeypatch, capsys):
    from keras_gumbel.apps.common.cli import run_command

    # scripts/*.py: 0 after a successful run, the result not dumped.
    monkeypatch.setattr(sys, "argv", ["train_gan.py", *TINY, "--output-dir", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "scripts", "train_gan.py"))
    assert exit_info.value.code == 0
    assert "GANResult" not in capsys.readouterr().err

    def fails(argv):
        raise RuntimeError("the disk is full\n  and a second line")

    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_command(fails, "prog") == 1
    assert capsys.readouterr().err == (
        "prog: error: RuntimeError: the disk is full and a second line "
        "(set KERAS_GUMBEL_TRACEBACK=1 for the traceback)\n")
    assert run_command(interrupted, "prog") == 130
    assert capsys.readouterr().err == "prog: interrupted\n"
    assert run_command(train_gan_main, "prog", ["--epochs", "0"]) == 2
    monkeypatch.setenv("KERAS_GUMBEL_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        run_command(fails, "prog")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_both_models_without_nan(policy, monkeypatch):
    from keras_gumbel.apps.common import run as _run

    monkeypatch.setattr(_run, "mixed_precision_policy", lambda: policy)
    before = keras.config.dtype_policy().name
    gan = train_gan(GANConfig(epochs=2, steps_per_epoch=3, batch_size=64, generator_steps=2,
                              seed=0, jit_compile=False, verbose=0, mixed_precision=True))
    vae = train_vae(VAEConfig(**{**_vae_config_args(), "epochs": 1, "mixed_precision": True}))
    assert keras.config.dtype_policy().name == before  # no global side effect
    assert gan.model.dtype_policy.name == policy == vae.model.dtype_policy.name
    assert vae.model.encoder.layers[0].compute_dtype == policy.split("_")[1]
    # float16 needs loss scaling (its gradients underflow); bfloat16 has
    # float32's exponent range and does not.
    scaled = policy == "mixed_float16"
    for optimizer in (gan.model.d_optimizer, gan.model.g_optimizer, vae.model.optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert np.isfinite(gan.probs).all() and np.isfinite(gan.history["d_loss"]).all()
    assert all(np.isfinite(v) for v in list(vae.train.values()) + list(vae.test.values()))
    assert vae.test["loss"] < 16 * 784  # far below a NaN-free but diverged run


def test_build_vae_of_the_default_config_is_the_default_model():
    # The recipe builds the parts from the same seed streams DiscreteVAE
    # derives: VAEConfig's defaults give DiscreteVAE(seed=...), weight for
    # weight, plus the training configuration (Adam, XLA).
    config = VAEConfig(seed=7, verbose=0)
    built, default = build_vae(config), DiscreteVAE(seed=7)
    for a, b in zip(built.get_weights(), default.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(built.sample(5), default.sample(5))
    assert built.jit_compile is True and isinstance(built.optimizer, keras.optimizers.Adam)


def test_a_trainable_temperature_keeps_the_samplers_own_floor():
    # --min-temperature is the annealing floor: a learned temperature is not
    # annealed, and its constraint is the sampler's own min_temperature.
    config = VAEConfig(**{**_vae_config_args(), "trainable_temperature": True,
                          "min_temperature": 0.7})
    sampler = build_vae(config).sampler
    assert sampler.trainable_temperature
    assert sampler.temperature.constraint.min_value == sampler.min_temperature != 0.7


def test_history_files_hold_every_epoch_of_every_metric(tmp_path):
    from keras_gumbel.apps.common.run import RunOptions, RunResult, write_history

    history = {"loss": [3.0, 2.5, 1.0 / 3.0], "val_loss": [3.5, 2.75, 2.0], "temperature": [1.0, 0.5, 0.25]}
    result = RunResult(model=None, config=RunOptions(seed=3, output_dir=str(tmp_path)),
                       history=history, seconds=1.5)
    files = write_history(result, {"extra": [1, 2]})
    record = json.loads((tmp_path / "history.json").read_text())
    assert record["history"] == history and record["extra"] == [1, 2]
    assert record["config"]["seed"] == 3 and record["seconds"] == 1.5
    with open(files["history_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    for key, values in history.items():
        # repr round-trips floats exactly.
        assert [float(r[key]) for r in rows] == values
