"""The VAE recipe's training options (optimizer, learning-rate schedule,
EMA, validation frequency) and its presets, from Python and from the
command line."""

import json
import math
import os
import re

import keras
import numpy as np
import pytest

from keras_gumbel.apps.vae.cli import train_vae_main, vae_parser
from keras_gumbel.apps.common.callbacks import spread_epochs
from keras_gumbel.recipes.vae import (
    PRESETS,
    VAEConfig,
    build_optimizer,
    learning_rate_schedule,
)
from test_training import VAE_TINY, assert_usage_error
from helpers import interrupt_vae_run


def test_best_preset_sets_its_values_and_overrides_win():
    config = VAEConfig.from_preset("best")
    for name, value in PRESETS["best"].items():
        assert getattr(config, name) == value, name
    # The preset's, not VAEConfig's defaults.
    assert config.estimator == "reinmax" and config.epochs == 200 != VAEConfig().epochs
    overridden = VAEConfig.from_preset("best", epochs=3, learning_rate=2e-3)
    assert (overridden.epochs, overridden.learning_rate) == (3, 2e-3)
    assert overridden.temperature == 1.3
    with pytest.raises(ValueError, match="preset must be one of .*received preset='quick'"):
        VAEConfig.from_preset("quick")


def _config_of(argv, monkeypatch):
    seen = {}
    monkeypatch.setattr("keras_gumbel.apps.vae.recipe.train_vae", lambda c: seen.setdefault("c", c))
    train_vae_main(argv)
    return seen["c"]


def test_flags_override_the_preset_and_defaults_stay_without_it(tmp_path, monkeypatch):
    out = ["--output-dir", str(tmp_path / "run")]
    config = _config_of(["--preset", "best", "--epochs", "7", "--ema", "0.99"] + out, monkeypatch)
    assert config == VAEConfig.from_preset("best", epochs=7, ema=0.99,
                                           output_dir=str(tmp_path / "run"))
    # A flag given at its default value still wins over the preset.
    config = _config_of(["--preset", "best", "--learning-rate-schedule", "constant"] + out,
                        monkeypatch)
    assert config.learning_rate_schedule == "constant" and config.epochs == 200
    # Without a preset, the config is VAEConfig's defaults.
    assert _config_of(out, monkeypatch) == VAEConfig(output_dir=str(tmp_path / "run"))
    assert "--preset" in vae_parser().format_help()
    assert "estimator=reinmax" in " ".join(vae_parser().format_help().split())


def _rate(schedule, step):
    if isinstance(schedule, float):
        return schedule
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_learning_rate_schedules_by_step():
    steps = 10  # per epoch
    constant = VAEConfig(epochs=4)
    assert learning_rate_schedule(constant, steps) == 1e-3
    cosine = VAEConfig(epochs=4, learning_rate_schedule="cosine")
    s = learning_rate_schedule(cosine, steps)
    assert _rate(s, 0) == pytest.approx(1e-3)
    assert _rate(s, 20) == pytest.approx(5e-4, rel=1e-5)  # the middle
    assert _rate(s, 40) == pytest.approx(0.0, abs=1e-9)  # the end
    warm = VAEConfig(epochs=4, learning_rate_schedule="cosine", warmup_epochs=2, learning_rate=2e-3)
    s = learning_rate_schedule(warm, steps)
    assert _rate(s, 0) == pytest.approx(0.0, abs=1e-9)
    assert _rate(s, 10) == pytest.approx(1e-3, rel=1e-5)  # half-way through the warm-up
    assert _rate(s, 20) == pytest.approx(2e-3, rel=1e-5)  # the warm-up's end: the peak
    assert _rate(s, 30) == pytest.approx(1e-3, rel=1e-5)  # the cosine's middle
    assert _rate(s, 40) == pytest.approx(0.0, abs=1e-9)
    flat = learning_rate_schedule(VAEConfig(epochs=4, warmup_epochs=1), steps)
    assert [_rate(flat, t) for t in (0, 5, 10, 35)] == pytest.approx([0, 5e-4, 1e-3, 1e-3])


def test_build_optimizer_adamw_and_ema():
    adam = build_optimizer(VAEConfig())
    assert type(adam) is keras.optimizers.Adam and not adam.use_ema
    config = VAEConfig(optimizer="adamw", weight_decay=0.03, ema=0.999,
                       learning_rate_schedule="cosine")
    opt = build_optimizer(config, steps_per_epoch=5)
    assert isinstance(opt, keras.optimizers.AdamW)
    assert opt.weight_decay == pytest.approx(0.03)
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.999)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        build_optimizer(config)


def test_build_optimizer_radam():
    from keras_gumbel import RAdam

    opt = build_optimizer(VAEConfig(optimizer="radam", learning_rate=5e-4, ema=0.99))
    assert type(opt) is RAdam
    assert float(opt.learning_rate) == pytest.approx(5e-4)
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.99)
    with pytest.raises(ValueError, match="weight_decay must be None unless optimizer='adamw'"):
        VAEConfig(optimizer="radam", weight_decay=0.01)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--ema", "1.0"], r"ema must be None or a momentum in \(0, 1\), received ema=1.0"),
        (["--ema", "0"], r"ema must be a finite number > 0, received ema=0.0"),
        (["--ema", "nan"], r"received ema=nan"),
        (["--validation-freq", "0"], "validation_freq must be .*received validation_freq=0"),
        (["--warmup-epochs", "-1"], "received warmup_epochs=-1"),
        (["--epochs", "2", "--warmup-epochs", "3"], "received warmup_epochs=3"),
        (["--weight-decay", "0.1"], "weight_decay must be None unless optimizer='adamw'"),
        (["--optimizer", "adamw", "--weight-decay", "-1"], "received weight_decay=-1.0"),
        (["--optimizer", "sgd"], "invalid choice: 'sgd'"),
        (["--optimizer", "radam", "--weight-decay", "0.01"],
         "weight_decay must be None unless optimizer='adamw'"),
        (["--learning-rate-schedule", "step"], "invalid choice: 'step'"),
        (["--preset", "quick"], "invalid choice: 'quick'"),
    ],
)
def test_bad_training_options_are_usage_errors(tmp_path, capsys, argv, message):
    assert_usage_error(train_vae_main, VAE_TINY + argv, message, tmp_path, capsys)


def test_spread_epochs():
    assert spread_epochs(3) == [1, 2, 3]
    assert spread_epochs(10) == [1, 3, 5, 6, 8, 10]
    picked = spread_epochs(160)
    assert len(picked) == 6 and picked[0] == 1 and picked[-1] == 160


def test_tiny_run_with_ema_cosine_and_validation_freq(tmp_path, capsys):
    out = tmp_path / "run"
    result = train_vae_main(VAE_TINY + [
        "--epochs", "3", "--ema", "0.9", "--validation-freq", "2", "--optimizer", "adamw",
        "--learning-rate-schedule", "cosine", "--warmup-epochs", "1", "--output-dir", str(out),
        "--verbose", "2"])
    # One line per epoch; an epoch without an evaluation prints no val_*
    # (no "val_loss: nan"), an evaluated one prints them.
    # ("4/4 - 1s - 336ms/step - kl: ...", or "2s/step" on a slow first epoch)
    epoch_lines = [line for line in capsys.readouterr().out.splitlines()
                   if re.match(r"\d+/\d+ - .*/step - ", line)]
    assert len(epoch_lines) == 3, epoch_lines
    assert ["val_hard_loss" in line for line in epoch_lines] == [False, True, False]
    assert not any("nan" in line for line in epoch_lines), epoch_lines
    pictures = sorted(f for f in os.listdir(out) if f.startswith("reconstructions"))
    assert pictures == [f"reconstructions_epoch_00{e}.png" for e in (1, 2, 3)]
    val = result.history["val_hard_loss"]
    assert len(val) == 3 and math.isnan(val[0]) and math.isnan(val[2]) and np.isfinite(val[1])
    # history.json stays strict JSON: the epochs without an evaluation are null.
    def refuse(constant):
        raise AssertionError(f"history.json holds the non-JSON constant {constant}")

    record = json.loads((out / "history.json").read_text(), parse_constant=refuse)
    assert record["history"]["val_hard_loss"][0] is None
    assert record["history"]["val_hard_loss"][1] == pytest.approx(val[1])
    assert len(result.history["loss"]) == 3
    # fit ends with the averaged weights in the model: the saved model
    # evaluates to the final test figure.
    optimizer = result.model.optimizer
    assert optimizer.use_ema
    ema = optimizer._model_variables_moving_average
    for weight, average in zip(result.model.trainable_variables, ema):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(weight),
                                   keras.ops.convert_to_numpy(average), rtol=1e-6, atol=1e-7)
    record = json.loads((out / "history.json").read_text())
    assert record["config"]["ema"] == 0.9


def test_resumed_ema_run_continues_the_average_and_draws_the_same_pictures(
        tmp_path):
    from keras_gumbel.recipes.vae import train_vae
    from test_training import _vae_config_args

    args = {**_vae_config_args(), "epochs": 8, "ema": 0.9, "validation_freq": 4,
            "learning_rate_schedule": "cosine"}
    whole = train_vae(VAEConfig(**args, output_dir=str(tmp_path / "whole")))
    config = VAEConfig(**args, output_dir=str(tmp_path / "cut"))
    interrupt_vae_run(train_vae, config, after_epoch=6)
    resumed = train_vae(config)

    def pictures(folder):
        return sorted(f for f in os.listdir(folder) if f.startswith("reconstructions"))

    expected = [f"reconstructions_epoch_{e:03d}.png" for e in spread_epochs(8)]
    assert pictures(tmp_path / "whole") == pictures(tmp_path / "cut") == expected
    # The average is an optimizer variable of the backup: the resumed run
    # ends with the uninterrupted run's averaged weights and test figure.
    for a, b in zip(whole.model.trainable_variables, resumed.model.trainable_variables):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b),
                                   rtol=1e-4, atol=1e-5)
    assert resumed.test["hard_loss"] == pytest.approx(whole.test["hard_loss"], rel=1e-4)
