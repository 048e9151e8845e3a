"""benchmarks/text_gan_quality.py on a tiny benchmark: each run is written
at once and skipped when the benchmark starts again; an MLE run carries its
temperature curve; the picture is drawn."""

import json

from benchmarks import text_gan_quality as Q
from keras_gumbel.recipes.text_gan import TextGANConfig

TINY = dict(vocab_size=30, sequence_length=4, sequences=128, embedding=8, hidden=8,
            d_embedding=8, filters=4, filter_sizes=(2, 3), batch_size=16, mle_epochs=1,
            adversarial_epochs=1, eval_sequences=100, verbose=0)


def test_runs_are_recorded_at_once_and_skipped_when_started_again(tmp_path, monkeypatch, capsys):
    def tiny_config(name, runs_dir):
        spec = Q.RUNS[name]
        extra = {"adversarial_epochs": 0} if spec["kind"] == "mle" else {}
        return TextGANConfig(**{**TINY, **extra}, seed=spec["seed"],
                             output_dir=str(tmp_path / "runs" / name))

    monkeypatch.setattr(Q, "run_config", tiny_config)
    output, picture = tmp_path / "quality.json", tmp_path / "quality.png"
    argv = ["--runs", "mle-s1", "ours-s1", "--temperatures", "0.5", "1.0", "--output", str(output),
            "--plot", str(picture)]
    Q.main(argv)
    saved = json.loads(output.read_text())["runs"]
    assert list(saved) == ["mle-s1", "ours-s1"]
    mle, ours = saved["mle-s1"], saved["ours-s1"]
    assert mle["results"]["adversarial_epochs"] == 0 and "curve" not in ours
    assert [p["temperature"] for p in mle["curve"]] == [0.5, 1.0]
    # At temperature 1 the curve is the run's own NLL_gen.
    assert abs(mle["curve"][1]["nll_gen"] - mle["results"]["nll_gen"]) < 1e-5
    assert picture.stat().st_size > 0
    capsys.readouterr()
    Q.main(argv)
    out = capsys.readouterr().out
    assert "mle-s1: already in" in out and "ours-s1: already in" in out
    assert "at temperature 0.5" in out
    # One summary row per method (MLE's own runs are its curve, not a row).
    medians = out.split("medians over seeds:")[1]
    assert "ours " in medians and "mle " not in medians
    rows = Q.summary(saved)
    assert [r["method"] for r in rows] == ["ours"] and rows[0]["seeds"] == "1"
    assert rows[0]["NLL_oracle"] == f"{ours['results']['nll_oracle']:.3f}"


def test_the_anchors_configs_are_mle_continued_and_relgans_recipe(tmp_path):
    defaults = TextGANConfig()
    long = Q.run_config("mle_long-s2", str(tmp_path))
    assert (long.seed, long.adversarial_epochs) == (2, 0)
    assert long.mle_epochs == defaults.mle_epochs + defaults.adversarial_epochs
    for beta_max in Q.BETA_MAX:
        relgan = Q.run_config(f"relgan_b{beta_max}-s0", str(tmp_path))
        assert (relgan.mle_epochs, relgan.adversarial_epochs) == (defaults.mle_epochs, defaults.adversarial_epochs)
        assert (relgan.g_learning_rate, relgan.d_learning_rate, relgan.d_steps, relgan.clip_norm) == (
            1e-4, 1e-4, 5, 5.0)
        assert (relgan.mle_weight, relgan.ema_momentum, relgan.estimator, relgan.batch_size) == (
            0.0, 0.0, "relaxed", 64)
        assert relgan.temperature == 1.0 and relgan.final_temperature == 1.0 / beta_max
        assert relgan.schedule == ("constant" if beta_max == 1 else "exponential")
    assert set(Q.RUNS) >= {"mle-s0", "ours-s0", "mle_long-s0", "relgan_b100-s1", "relgan_b1000-s2"}
