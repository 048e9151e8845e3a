import csv
import json
import os
import re

import numpy as np
import pytest

import keras
from keras_gumbel.cli import train_gan_main
from keras_gumbel.models import GumbelGAN
from keras_gumbel.training import GANConfig, temperature_schedule, train_gan

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
    ],
)
def test_script_refuses_bad_flags(tmp_path, capsys, argv, message):
    if argv:
        argv = argv + ["--output-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        train_gan_main(argv)
    assert exit_info.value.code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()
