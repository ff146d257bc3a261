"""The CLI end to end on the tiny themed world: build, recommend, info, and one-line errors."""

import csv
import json

import pytest

from conftest import THEMES, make_images, make_songs
from graphrec.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    songs_csv = root / "songs.csv"
    with open(songs_csv, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "artist", "lyrics", "popularity"])
        for s in make_songs():
            writer.writerow([s.id, s.title, s.artist, s.lyrics, s.popularity])
    images = make_images(root / "images")
    manifest = root / "images" / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "keywords", "weight"])
        for r in images.records:
            writer.writerow([r.path, "|".join(r.keywords), r.weights[0]])
    vocab = root / "vocab.txt"
    vocab.write_text("# the three themes\n" + "\n".join(THEMES) + "\n", encoding="utf-8")
    return {"songs": songs_csv, "images": manifest, "vocab": vocab, "root": root}


@pytest.fixture(scope="module")
def built(inputs):
    out = inputs["root"] / "model"
    argv = [
        "--no-progress", "build", "--songs", str(inputs["songs"]), "--images", str(inputs["images"]),
        "--vocabulary", str(inputs["vocab"]), "--featurizer", "hsv_hist", "--order", "2", "--dim", "16",
        "--samples", "200000", "--threads", "1", "--seed", "3", "--out", str(out),
        "--graphml", str(inputs["root"] / "graph.graphml"),
    ]
    assert main(argv) == 0
    return out


def test_build_prints_a_summary_and_writes_model_and_graphml(built, inputs, capsys):
    assert (built / "manifest.json").is_file()
    import networkx as nx

    graph = nx.read_graphml(inputs["root"] / "graph.graphml")
    assert graph.number_of_nodes() == 12 + 18 + 3


def test_build_index_flag_is_recorded_and_the_faiss_index_saved(inputs, tmp_path, query_image, capsys):
    out = tmp_path / "hnsw-model"
    argv = [
        "--no-progress", "build", "--songs", str(inputs["songs"]), "--images", str(inputs["images"]),
        "--vocabulary", str(inputs["vocab"]), "--featurizer", "hsv_hist", "--order", "2", "--dim", "16",
        "--samples", "200000", "--threads", "1", "--seed", "3", "--out", str(out), "--index", "hnsw",
    ]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["recommend"]["index"] == "hnsw" and manifest["image_index"]["kind"] == "hnsw"
    assert (out / "image_index.faiss").is_file()
    capsys.readouterr()
    assert main(["recommend", "--model", str(out), "--json", "-k", "3", str(query_image("雪"))]) == 0
    assert [s["song_id"][0] for s in json.loads(capsys.readouterr().out)["songs"]] == ["雪"] * 3


def test_recommend_json_gives_theme_songs_with_reasons(built, query_image, capsys):
    capsys.readouterr()
    assert main(["recommend", "--model", str(built), "--json", "-k", "3", str(query_image("月"))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["featurizer"] == "hsv_hist"
    assert [s["song_id"][0] for s in result["songs"]] == ["月"] * 3
    assert all(s["keywords"] == ["月"] and s["reason"] for s in result["songs"])


def test_recommend_text_lists_ranked_songs(built, query_image, capsys):
    capsys.readouterr()
    assert main(["recommend", "--model", str(built), str(query_image("花"))]) == 0
    out = capsys.readouterr().out
    assert " 1. 花之歌" in out and "why: shares 花" in out


def test_recommend_reports_a_bad_image_and_goes_on(built, query_image, tmp_path, capsys):
    capsys.readouterr()
    code = main(["recommend", "--model", str(built), "--json", str(tmp_path / "missing.jpg"), str(query_image("雪"))])
    captured = capsys.readouterr()
    assert code == 1
    assert "missing.jpg" in captured.err
    assert json.loads(captured.out)["songs"][0]["song_id"].startswith("雪")


def test_info_describes_the_model(built, capsys):
    capsys.readouterr()
    assert main(["info", str(built)]) == 0
    out = capsys.readouterr().out
    assert "hsv_hist" in out and "songs:       12 kept of 12 read" in out


def test_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no model directory" in err and "graphrec build" in err


def test_bad_songs_file_is_a_one_line_error(tmp_path, inputs, capsys):
    bad = tmp_path / "songs.csv"
    bad.write_bytes("id,title,artist,lyrics\n1,雪,佚名,大雪\n".encode("gbk"))
    code = main(["build", "--songs", str(bad), "--images", str(inputs["images"]), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 1 and "songs.csv" in err and not (tmp_path / "m").exists()


def test_empty_vocabulary_file_is_rejected(tmp_path, inputs, capsys):
    empty = tmp_path / "vocab.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    assert main(["build", "--vocabulary", str(empty), "--out", str(tmp_path / "m")]) == 1
    assert "lists no keywords" in capsys.readouterr().err


def test_default_model_path_follows_the_environment(tmp_path, monkeypatch):
    from graphrec.api import default_model_path, load
    from graphrec.errors import ModelFormatError

    monkeypatch.setenv("GRAPHREC_MODEL", str(tmp_path / "m"))
    assert default_model_path() == tmp_path / "m"
    with pytest.raises(ModelFormatError, match="no default model at .*make demo"):
        load()


def test_top_level_recommend_uses_and_caches_the_model(built, query_image, monkeypatch):
    import graphrec
    from graphrec import api

    monkeypatch.setenv("GRAPHREC_MODEL", str(built))
    first = graphrec.recommend(query_image("雪"), k=2)
    assert [s[0] for s in first.song_ids] == ["雪", "雪"]
    assert built.resolve() in api._cache
    assert graphrec.recommend(query_image("雪"), k=2).song_ids.tolist() == first.song_ids.tolist()


def test_long_titles_are_shortened_in_text_output():
    from graphrec.commands.recommend import TITLE_WIDTH, _short

    assert _short("浣溪沙") == "浣溪沙"
    long = "一・春采了桑，冬借了俺粟，零支了米麦无重数。换田契强秤了麻三秤，"
    assert len(_short(long)) == TITLE_WIDTH and _short(long).endswith("…") and long.startswith(_short(long)[:-1])


def test_info_reports_the_effective_line_samples(built, capsys):
    capsys.readouterr()
    main(["info", str(built)])
    assert "samples 200000 per order" in capsys.readouterr().out


def test_a_mistyped_featurizer_is_a_one_line_error_before_any_work(inputs, tmp_path, capsys, monkeypatch):
    import graphrec.data.songs as songs_module

    def must_not_read(*args, **kwargs):
        raise AssertionError("the songs were read although the featurizer name is wrong")

    monkeypatch.setattr(songs_module, "read_songs", must_not_read)
    out = tmp_path / "model"
    code = main(["--no-progress", "build", "--songs", str(inputs["songs"]), "--featurizer", "hsv_hst", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "unknown featurizer 'hsv_hst'" in err and "did you mean 'hsv_hist'" in err
    assert not out.exists()
