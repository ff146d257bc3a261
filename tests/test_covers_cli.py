import json

import pytest
from covers_drawn import draw_cover, draw_covers, private_cache  # noqa: F401  (autouse fixture)

from graphrec.cli import main


@pytest.fixture
def folder(tmp_path):
    return draw_covers(tmp_path / "covers", per_genre=8)


def test_index_then_similar(folder, tmp_path, capsys):
    assert main(["--no-progress", "covers", "index", str(folder), "--out", str(tmp_path / "idx"), "--descriptor", "hsv_hist"]) == 0
    query = tmp_path / "query.png"
    draw_cover("electronic", seed=777).save(query)
    capsys.readouterr()
    montage = tmp_path / "montage.png"
    assert main(["covers", "similar", str(query), "--index", str(tmp_path / "idx"), "-k", "3", "--montage", str(montage), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [n["genre"] for n in answer["neighbours"]] == ["electronic"] * 3
    assert montage.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_then_genre(folder, tmp_path, capsys):
    assert main(["--no-progress", "covers", "train", str(folder), "--out", str(tmp_path / "model"), "--classifier", "knn"]) == 0
    query = tmp_path / "query.png"
    draw_cover("metal", seed=555).save(query)
    capsys.readouterr()
    assert main(["covers", "genre", str(query), "--model", str(tmp_path / "model"), "--json"]) == 0
    probabilities = json.loads(capsys.readouterr().out)["probabilities"]
    assert max(probabilities, key=probabilities.get) == "metal"
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("argv, expected", [
    (["covers", "tags", "{tmp}/missing.png"], "does not exist"),
    (["covers", "similar", "{folder}/metal/metal-000.png", "--index", "{tmp}/nowhere"], "no directory"),
    (["covers", "genre", "{folder}/metal/metal-000.png", "--model", "{folder}"], "manifest.json"),
    (["covers", "index", "{tmp}/no-such-folder", "--out", "{tmp}/idx2"], "does not exist"),
    (["covers", "train", "{folder}", "--out", "{tmp}/m", "--descriptor", "sift"], "unknown featurizer"),
])
def test_bad_input_is_a_one_line_error(folder, tmp_path, capsys, argv, expected):
    argv = [a.format(tmp=tmp_path, folder=folder) for a in argv]
    assert main(["--no-progress", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("graphrec covers: error:") and expected in err and "\n" not in err
