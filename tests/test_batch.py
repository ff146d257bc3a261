"""Batch scoring: known answers, bad files, exactly-once resume after a torn write and after kill -9."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import THEMES, solid_image
from graphrec.batch import errors_path_for, list_images, score_folder
from graphrec.errors import InputError

WORDS = list(THEMES)
BAD = {"a-zero.jpg", "b-text.jpg", "c-truncated.png"}


def make_folder(root: Path, per_theme: int = 3, *, bad: bool = True, size: int = 24) -> dict[str, str]:
    """Images named <word-index>-<i>.png; returns {relative path: theme word} for the good ones."""
    root.mkdir(parents=True, exist_ok=True)
    truth = {}
    for t, word in enumerate(WORDS):
        for i in range(per_theme):
            name = f"t{t}-{i:04d}.png"
            solid_image(root / name, THEMES[word]["colour"], seed=1000 * t + i, size=size)
            truth[name] = word
    if bad:
        (root / "a-zero.jpg").write_bytes(b"")
        (root / "b-text.jpg").write_text("not an image, only text with a .jpg name\n")
        good = (root / "t0-0000.png").read_bytes()
        (root / "c-truncated.png").write_bytes(good[: len(good) // 3])
    (root / "notes.txt").write_text("not an image suffix: ignored")
    return truth


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_list_images_sorted_and_filtered(tmp_path):
    make_folder(tmp_path / "imgs", per_theme=2)
    (tmp_path / "imgs" / "sub").mkdir()
    solid_image(tmp_path / "imgs" / "sub" / "x.PNG", (1, 2, 3), seed=1)
    (tmp_path / "imgs" / ".hidden.png").write_bytes(b"")
    flat = list_images(tmp_path / "imgs")
    assert flat == sorted(flat) and "notes.txt" not in flat and ".hidden.png" not in flat
    assert "sub/x.PNG" not in flat and "sub/x.PNG" in list_images(tmp_path / "imgs", recursive=True)
    with pytest.raises(InputError, match="folder"):
        list_images(tmp_path / "missing")


def test_score_known_answer_and_bad_files(tiny_recommender, tmp_path):
    truth = make_folder(tmp_path / "imgs")
    out = tmp_path / "out" / "results.jsonl"
    summary = score_folder(tiny_recommender, tmp_path / "imgs", out, k=4, batch_size=2, workers=2, show_progress=False)

    assert (summary.found, summary.scored, summary.failed, summary.skipped_done) == (len(truth) + 3, len(truth), 3, 0)
    rows = read_jsonl(out)
    assert [r["path"] for r in rows] == sorted(truth)  # sorted, once each, bad files absent
    for row in rows:
        assert len(row["songs"]) == 4 and row["k"] == 4
        word = truth[row["path"]]
        # a theme-coloured image gets that theme's four songs, each explained by that theme's images + keyword
        assert {s["song_id"].split("-")[0] for s in row["songs"]} == {word}
        for song in row["songs"]:
            assert song["keywords"] == [word]
            assert song["images"] and all(i["image_id"].startswith(word + "/") for i in song["images"])
    errors = read_jsonl(errors_path_for(out))
    assert errors_path_for(out) == out.with_name("results.jsonl.errors.jsonl")
    assert {e["path"] for e in errors} == BAD
    assert all(e["reason"] for e in errors)


def test_rerun_does_nothing_and_changes_nothing(tiny_recommender, tmp_path):
    make_folder(tmp_path / "imgs")
    out = tmp_path / "results.jsonl"
    first = score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, show_progress=False)
    before = (out.read_bytes(), errors_path_for(out).read_bytes())
    again = score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, show_progress=False)
    assert (again.scored, again.failed, again.skipped_done) == (0, 0, first.found)
    assert (out.read_bytes(), errors_path_for(out).read_bytes()) == before


def test_torn_last_line_is_dropped_and_rescored(tiny_recommender, tmp_path):
    truth = make_folder(tmp_path / "imgs", bad=False)
    out = tmp_path / "results.jsonl"
    score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, show_progress=False)
    lines = out.read_bytes().splitlines(keepends=True)
    # keep four whole rows and half of the fifth, as a crash in the middle of a write would
    out.write_bytes(b"".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    summary = score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, show_progress=False)
    assert (summary.skipped_done, summary.scored) == (4, len(truth) - 4)
    rows = read_jsonl(out)  # every line parses again
    assert [r["path"] for r in rows] == sorted(truth)


def test_csv_output_and_resume(tiny_recommender, tmp_path):
    truth = make_folder(tmp_path / "imgs")
    out = tmp_path / "results.csv"
    score_folder(tiny_recommender, tmp_path / "imgs", out, k=3, batch_size=4, show_progress=False)
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["path"] for r in rows] == sorted(truth)
    for row in rows:
        ids = row["song_ids"].split("|")
        assert len(ids) == 3 and {i.split("-")[0] for i in ids} == {truth[row["path"]]}
        assert len(row["scores"].split("|")) == 3 and row["keywords"].split("|") == [truth[row["path"]]] * 3
    # drop the last two rows and resume: they come back, nothing else is repeated
    text = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(text[:-2]), encoding="utf-8")
    summary = score_folder(tiny_recommender, tmp_path / "imgs", out, k=3, show_progress=False)
    assert summary.scored == 2
    with open(out, newline="", encoding="utf-8") as handle:
        assert [r["path"] for r in csv.DictReader(handle)] == sorted(truth)


def test_resume_refuses_a_different_k(tiny_recommender, tmp_path):
    make_folder(tmp_path / "imgs", per_theme=1, bad=False)
    out = tmp_path / "results.jsonl"
    score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, show_progress=False)
    with pytest.raises(InputError, match="k=2"):
        score_folder(tiny_recommender, tmp_path / "imgs", out, k=5, show_progress=False)


def test_recursive_paths_are_relative(tiny_recommender, tmp_path):
    make_folder(tmp_path / "imgs" / "deep" / "er", per_theme=1, bad=False)
    out = tmp_path / "r.jsonl"
    flat = score_folder(tiny_recommender, tmp_path / "imgs", out, show_progress=False)
    assert flat.found == 0
    deep = score_folder(tiny_recommender, tmp_path / "imgs", tmp_path / "r2.jsonl", recursive=True, show_progress=False)
    assert deep.scored == 3
    assert all(r["path"].startswith("deep/er/") for r in read_jsonl(tmp_path / "r2.jsonl"))


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_kill9_then_rerun_scores_every_image_exactly_once(tiny_model_dir, tmp_path):
    truth = make_folder(tmp_path / "imgs", per_theme=200, size=16)  # 600 good + 3 bad
    out = tmp_path / "results.jsonl"
    cmd = [
        sys.executable, "-m", "graphrec.cli", "--no-progress", "score", str(tmp_path / "imgs"),
        "--model", str(tiny_model_dir), "--out", str(out), "--k", "3", "--batch-size", "4", "--workers", "1",
    ]
    env = {**os.environ, "GRAPHREC_NO_PROGRESS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _count_lines(out) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    rows_at_kill = _count_lines(out)
    assert 20 <= rows_at_kill < len(truth), "the kill must land mid-run for this test to mean anything"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["skipped_done"] >= rows_at_kill  # every whole row written before the kill is kept
    assert summary["skipped_done"] + summary["scored"] + summary["failed"] == len(truth) + 3

    rows = read_jsonl(out)
    paths = [r["path"] for r in rows]
    errors = [e["path"] for e in read_jsonl(errors_path_for(out))]
    assert len(paths) == len(set(paths)) and sorted(paths) == sorted(truth)
    assert sorted(errors) == sorted(BAD)
    assert paths == sorted(paths)  # a resumed run continues in the same order
    assert all(len(r["songs"]) == 3 for r in rows)
