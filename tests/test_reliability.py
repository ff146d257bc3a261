"""Hostile-but-fair input and crashes (issue 16): each case is made here, in tmp_path, by the test itself.

Sections follow the issue's items: user folders never replaced by a model (1), saves that survive a
kill between their renames (2), aspect-ratio bombs (3), file names that are not UTF-8 (4), entries a
folder scan must not lose (5), damaged models and bad paths as one-line errors (6), the judging
page's surrogates (7), what the service exposes (8) and slow clients (9).
"""

from __future__ import annotations

import json
import shutil

import pytest

from graphrec.cli import main
from graphrec.errors import InputError, ModelFormatError
from graphrec.recommender import Recommender


def one_line_error(capsys) -> str:
    """The CLI's stderr, checked to be a single line without a traceback."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------------------------------------- 1. user folders


def user_folder_with_manifest(root):
    """A user's folder that happens to hold a manifest.json of its own, next to their photos."""
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({"album": "holidays", "photos": ["beach.jpg"]}))
    (root / "beach.jpg").write_bytes(b"my photo")
    return root


def test_save_refuses_a_user_folder_that_holds_a_manifest_json(tiny_recommender, tmp_path):
    folder = user_folder_with_manifest(tmp_path / "album")
    with pytest.raises(ModelFormatError, match="not a graphrec model"):
        tiny_recommender.save(folder)
    assert (folder / "beach.jpg").read_bytes() == b"my photo"
    assert sorted(p.name for p in folder.iterdir()) == ["beach.jpg", "manifest.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["album"]  # no staging folder left behind


def test_save_refuses_a_model_folder_holding_a_user_file(tiny_recommender, tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "my-notes.txt").write_text("keep me")
    with pytest.raises(ModelFormatError, match="my-notes.txt"):
        tiny_recommender.save(model)
    assert (model / "my-notes.txt").read_text() == "keep me"


def test_build_refuses_a_user_folder_before_any_work(tmp_path, capsys, monkeypatch):
    import graphrec.data.songs as songs_module

    def must_not_read(*args, **kwargs):
        raise AssertionError("the songs were read although the output folder cannot be used")

    monkeypatch.setattr(songs_module, "load_default_songs", must_not_read)
    monkeypatch.setattr(songs_module, "read_songs", must_not_read)
    folder = user_folder_with_manifest(tmp_path / "album")
    assert main(["--no-progress", "build", "--out", str(folder)]) == 1
    assert "not a graphrec model" in one_line_error(capsys)
    assert (folder / "beach.jpg").read_bytes() == b"my photo"


def test_build_out_naming_a_regular_file_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    import graphrec.data.songs as songs_module

    monkeypatch.setattr(songs_module, "load_default_songs", lambda *a, **k: pytest.fail("read songs"))
    target = tmp_path / "model.txt"
    target.write_text("a file, not a folder")
    assert main(["--no-progress", "build", "--out", str(target)]) == 1
    assert "is a file" in one_line_error(capsys)
    assert target.read_text() == "a file, not a folder"


def test_save_into_a_regular_file_is_an_input_error(tiny_recommender, tmp_path):
    target = tmp_path / "model.txt"
    target.write_text("a file")
    with pytest.raises(InputError, match="is a file"):
        tiny_recommender.save(target)
    with pytest.raises(InputError, match="is a file"):
        tiny_recommender.save(target / "model")  # a file where a parent folder should be
    assert target.read_text() == "a file"
