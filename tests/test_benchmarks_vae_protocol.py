"""benchmarks/vae_protocol.py: the schedules it builds, and that a killed
benchmark keeps its finished runs and resumes with the next one (with a
stand-in for training, so this takes seconds)."""

import json
import math

import pytest

from benchmarks import vae_protocol


def _config(**fields):
    return {**vae_protocol.DEFAULTS, **fields}


def test_cosine_learning_rate_with_warmup():
    config = _config(learning_rate=2e-3, warmup_epochs=2, epochs=10)
    rate = vae_protocol._learning_rate(config, steps_per_epoch=100)
    values = {step: float(rate(step)) for step in (0, 100, 200, 600, 1000)}
    assert values[0] == pytest.approx(0.0, abs=1e-12)
    assert values[100] == pytest.approx(1e-3)  # linear warm-up, halfway
    assert values[200] == pytest.approx(2e-3)  # the peak
    # Cosine from the peak to 0 over the 800 steps after the warm-up.
    assert values[600] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert values[1000] == pytest.approx(0.0, abs=1e-9)


def test_constant_learning_rate():
    assert vae_protocol._learning_rate(_config(lr_schedule="constant"), 600) == 1e-3
    with pytest.raises(ValueError, match="learning_rate_schedule must be"):
        vae_protocol._learning_rate(_config(lr_schedule="step"), 600)


def test_ema_optimizer():
    optimizer = vae_protocol._optimizer(_config(ema=0.999), 600)
    assert optimizer.use_ema and optimizer.ema_momentum == 0.999
    assert not vae_protocol._optimizer(_config(), 600).use_ema


def test_every_named_run_builds_its_model():
    # Catches a configuration the model refuses (e.g. ReinMax below tau 1)
    # before a long benchmark reaches it.
    for name, config in vae_protocol.RUNS.items():
        model = vae_protocol.build_model(config)
        assert model.sampler.estimator == config["estimator"], name
        assert float(model.sampler.temperature.numpy()) == pytest.approx(config["temperature"])


def _fake_record(config):
    return {
        "config": config,
        "description": vae_protocol.describe(config),
        "test": {"hard_loss": 100.0 + config["seed"], "loss": 95.0},
        "train": {"hard_loss": 97.0, "loss": 93.0},
        "minutes": 1.0,
        "fit_minutes": 0.9,
        "steps_per_second": 100.0,
        "curve": [[1, 0.5, 120.0], [2, 1.0, 100.0 + config["seed"]]],
        "weights": None,
        "finished": "now",
    }


def test_killed_benchmark_keeps_finished_runs_and_resumes(tmp_path, monkeypatch):
    output, notes = tmp_path / "results.json", tmp_path / "notes.md"
    trained = []

    def fake_run(config, source, quick=False, weights_path=None, verbose=0):
        if len(trained) == 1:
            raise KeyboardInterrupt  # killed during the second run
        trained.append(config["seed"])
        return _fake_record(config)

    monkeypatch.setattr(vae_protocol, "run_one", fake_run)
    argv = ["--source", "bundled", "--runs", "best-s0", "best-s1", "--output", str(output),
            "--plot", str(tmp_path / "curves.png"), "--no-iwae", "--notes", str(notes)]
    with pytest.raises(KeyboardInterrupt):
        vae_protocol.main(argv)
    saved = json.loads(output.read_text())
    assert list(saved["runs"]) == ["best-s0"]
    assert len(notes.read_text().splitlines()) == 1

    # Started again: best-s0 is skipped, best-s1 runs.
    trained.clear()
    results = vae_protocol.main(argv)
    assert trained == [1]
    assert list(results["runs"]) == ["best-s0", "best-s1"]
    assert json.loads(output.read_text())["runs"]["best-s1"]["test"]["hard_loss"] == 101.0
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert "100.50 +- 0.71 over 2 seed(s)" in vae_protocol.summary(results["runs"])


def test_the_presets_are_the_benchmarks_recipes():
    # The benchmark's best-s* runs and `--preset best` are one recipe, and
    # so are its fast-s* runs and `--preset fast`.
    import dataclasses

    from keras_gumbel.recipes.vae import VAEConfig

    for name in ("best", "fast"):
        preset = dataclasses.asdict(VAEConfig.from_preset(name, seed=1))
        assert vae_protocol.from_recipe(preset) == vae_protocol.RUNS[f"{name}-s1"], name


def test_import_records_a_script_run(tmp_path, capsys):
    from keras_gumbel.apps.vae.cli import train_vae_main

    run = tmp_path / "run"
    train_vae_main(["--preset", "best", "--source", "bundled", "--train-images", "200",
                    "--epochs", "3", "--validation-freq", "2", "--latent-dim", "4",
                    "--num-categories", "3", "--encoder-units", "16", "--decoder-units", "16",
                    "--seed", "2", "--verbose", "0", "--output-dir", str(run)])
    output = tmp_path / "results.json"
    argv = ["--import", f"best-s2={run}", "--output", str(output),
            "--plot", str(tmp_path / "curves.png"), "--no-iwae"]
    # A tiny model on 200 images is not a run of the protocol: refused,
    # with what differs, before anything is written.
    with pytest.raises(SystemExit) as error:
        vae_protocol.main(argv)
    assert error.value.code == 2
    message = capsys.readouterr().err
    for field in ("latent_dim=4", "train_images=200", "epochs=3", "validation_freq=2"):
        assert field in message
    assert "seed=" not in message and not output.exists()

    # The same file as a run of the protocol's model and recipe is recorded.
    saved = json.loads((run / "history.json").read_text())
    saved["config"].update(vae_protocol.PROTOCOL, epochs=200, validation_freq=10)
    (run / "history.json").write_text(json.dumps(saved))
    results = vae_protocol.main(argv)
    record = results["runs"]["best-s2"]
    assert json.loads(output.read_text())["runs"]["best-s2"] == record
    assert list(results["runs"]) == ["best-s2"]  # nothing else ran
    assert record["config"] == vae_protocol.RUNS["best-s2"]
    assert record["test"] == saved["test"] and record["train"] == saved["train"]
    # The evaluation of epoch 2 (at 2/200 of the training time, as the file
    # now claims 200 epochs), then the final one.
    minutes = saved["seconds"] / 60.0
    assert record["curve"] == [[2, minutes * 2 / 200, saved["history"]["val_hard_loss"][1]],
                               [200, minutes, saved["test"]["hard_loss"]]]
    assert "best-s2: recorded from" in capsys.readouterr().out


@pytest.mark.parametrize("item", ["best-s9=x", "best-s0", "best-s0=/nonexistent"])
def test_import_refuses_unknown_runs_and_folders(item, capsys):
    with pytest.raises(SystemExit) as error:
        vae_protocol.main(["--import", item])
    assert error.value.code == 2
    assert f"received {item!r}" in capsys.readouterr().err


def test_the_anchor_table_has_a_row_for_every_estimator():
    from keras_gumbel import ops

    anchored = [vae_protocol.RUNS[name]["estimator"] for name in vae_protocol.ANCHORS]
    assert sorted(anchored) == sorted(ops.ESTIMATORS)
    assert set(vae_protocol.ANCHOR_SOURCES) == set(ops.ESTIMATORS)
    for name in vae_protocol.ANCHORS:
        config = vae_protocol.RUNS[name]
        assert (config["epochs"], config["batch_size"], config["seed"]) == (160, 100, 0), name
        assert config["lr_schedule"] == "constant", name
        # Multi-sample estimators draw more than one sample.
        assert (config["samples"] > 1) == (config["estimator"] in ops.MULTI_SAMPLE), name


def test_an_anchor_passes_its_estimator_options_and_optimizer():
    config = vae_protocol.RUNS["anchor-decoupled_straight_through"]
    model = vae_protocol.build_model(config)
    assert model.sampler.get_config()["backward_temperature"] == 1.0
    from keras_gumbel import RAdam

    assert type(vae_protocol._optimizer(config, 600)) is RAdam
    assert "tau_b=1.0" in vae_protocol.describe(config)
