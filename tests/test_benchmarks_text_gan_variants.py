"""benchmarks/text_gan_variants.py on a tiny benchmark: the MLE phase is
trained once, every variant starts from it and is scored after each epoch
(last iterate and averages), each finished variant is written at once and
skipped when the harness starts again."""

import json

import pytest

from benchmarks import text_gan_variants as V
from keras_gumbel.recipes.text_gan import TextGANConfig

TINY = dict(vocab_size=30, sequence_length=4, sequences=128, embedding=8, hidden=8, d_embedding=8,
            filters=4, filter_sizes=(2, 3), batch_size=16, mle_epochs=1, adversarial_epochs=1,
            verbose=0)


def test_variants_start_from_one_mle_phase_and_are_recorded_at_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(V, "base_config", lambda seed: TextGANConfig(**TINY, seed=seed))
    output, work = tmp_path / "variants.json", tmp_path / "work"
    argv = ["--variants", "defaults", "straight_through", "--epochs", "2", "--eval-sequences", "50",
            "--seed", "3", "--output", str(output), "--work-dir", str(work)]
    V.main(argv)
    runs = json.loads(output.read_text())["runs"]
    assert list(runs) == ["defaults-s3", "straight_through-s3"]
    assert [p.name for p in work.iterdir()] == ["mle-s3.weights.h5"]
    for run in runs.values():
        assert [r["epoch"] for r in run["rows"]] == [1, 2]
        for row in run["rows"]:
            for key in ("last", *(f"average_{m}" for m in V.MOMENTA)):
                nll_oracle, nll_gen = row[key]
                assert 0 < nll_oracle and 0 < nll_gen < 2 * 3.4012  # < 2 log 30: a trained model
    assert runs["straight_through-s3"]["changes"] == {"estimator": "straight_through"}
    # Averages lag the last iterate: after two epochs they differ.
    assert runs["defaults-s3"]["rows"][-1]["last"] != runs["defaults-s3"]["rows"][-1]["average_0.99"]
    capsys.readouterr()
    V.main(argv)
    assert capsys.readouterr().out.count("already in") == 2


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--momenta", "1.0"], ["--momenta", "-0.1"]])
def test_bad_flags_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        V.main(argv)
    assert argv[0] in capsys.readouterr().err


def test_no_momenta_scores_the_last_iterate_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(V, "base_config", lambda seed: TextGANConfig(**TINY, seed=seed))
    output = tmp_path / "variants.json"
    V.main(["--variants", "g1e-4", "--epochs", "1", "--eval-sequences", "50", "--momenta",
            "--output", str(output), "--work-dir", str(tmp_path / "work")])
    run = json.loads(output.read_text())["runs"]["g1e-4-s0"]
    assert run["momenta"] == [] and sorted(run["rows"][0]) == ["d_loss", "epoch", "g_loss", "last"]
