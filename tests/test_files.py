import json
import os

import pytest

from keras_gumbel.apps.common.files import atomic_path, write_json, write_text


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "model.keras"
    with atomic_path(target) as tmp:
        assert os.path.dirname(tmp) == str(target.parent) and tmp.endswith(".keras")
        assert not target.exists()  # nothing visible before the block ends
        with open(tmp, "w") as f:
            f.write("new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == ["model.keras"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_atomic_path_keeps_every_suffix_of_the_name(tmp_path):
    for name, suffix in (("run.weights.h5", ".weights.h5"), ("model.keras", ".keras"), ("README", ""),
                         (".hidden", ""), (".cache.json", ".json")):
        with atomic_path(tmp_path / name) as tmp:
            assert os.path.basename(tmp).startswith(".tmp-") and tmp.endswith(suffix)
            assert os.path.basename(tmp)[len(".tmp-"):] != ""
            open(tmp, "w").close()
        assert (tmp_path / name).exists()


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "history.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["history.json"]


def test_write_text_and_json(tmp_path):
    write_text(tmp_path / "a.csv", "x,y\n1,2\n")
    assert (tmp_path / "a.csv").read_text() == "x,y\n1,2\n"
    write_json(tmp_path / "b.json", {"tv": 0.01, "probs": [0.5, 0.5]})
    assert json.loads((tmp_path / "b.json").read_text()) == {"tv": 0.01, "probs": [0.5, 0.5]}
