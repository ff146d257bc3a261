"""Judgments file (append + fsync, half-written lines), precision aggregation, and the judging page."""

from __future__ import annotations

import json
import logging

import pytest

from graphrec.errors import InputError
from graphrec.evaluate.judgments import (
    Judgment,
    JudgmentWriter,
    aggregate_precision,
    load_judgments,
    load_plan,
    save_plan,
)


def test_writer_appends_whole_lines_and_later_answers_win(tmp_path):
    path = tmp_path / "j.csv"
    writer = JudgmentWriter(path)
    writer.append(Judgment("snow", "s1", True, "ann"))
    writer.append(Judgment("snow", "s2, with comma", False, "ann"))
    writer.append(Judgment("snow", "s1", False, "ann"))  # ann changes her mind
    assert path.read_text(encoding="utf-8").splitlines()[0] == "image,song_id,relevant,judge"
    loaded = load_judgments(path)
    assert loaded.problems == []
    assert len(loaded.judgments) == 3
    assert loaded.latest() == {("snow", "s1", "ann"): False, ("snow", "s2, with comma", "ann"): False}
    JudgmentWriter(path).append(Judgment("snow", "s3", True, "bo"))  # reopening keeps what was there
    assert len(load_judgments(path).judgments) == 4


def test_half_written_last_line_is_reported_and_skipped(tmp_path, caplog):
    path = tmp_path / "j.csv"
    writer = JudgmentWriter(path)
    writer.append(Judgment("snow", "s1", True, "ann"))
    writer.append(Judgment("snow", "s2", False, "ann"))
    with open(path, "ab") as handle:  # the process died in the middle of the next line
        handle.write("snow,s3,1,an".encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="graphrec"):
        loaded = load_judgments(path)
    assert [j.song_id for j in loaded.judgments] == ["s1", "s2"]
    assert len(loaded.problems) == 1 and "incomplete last line" in loaded.problems[0] and ":4:" in loaded.problems[0]
    assert "incomplete last line" in caplog.text
    # A writer reopening the file cuts the unfinished line off: it never turns into a judgment by "an".
    JudgmentWriter(path).append(Judgment("snow", "s4", True, "bo"))
    again = load_judgments(path)
    assert again.problems == []
    assert [(j.song_id, j.judge) for j in again.judgments] == [("s1", "ann"), ("s2", "ann"), ("s4", "bo")]


def test_broken_lines_in_the_middle_and_cut_characters(tmp_path):
    path = tmp_path / "j.csv"
    good = "image,song_id,relevant,judge\nsnow,s1,1,ann\n"
    bad = "snow,s2\nsnow,s3,maybe,ann\n"
    path.write_bytes((good + bad).encode("utf-8") + "snow,s4,1,李".encode("utf-8")[:-1])  # cut inside 李
    loaded = load_judgments(path)
    assert [j.song_id for j in loaded.judgments] == ["s1"]
    assert len(loaded.problems) == 3
    assert "found 2" in loaded.problems[0] and "relevant must be" in loaded.problems[1]
    with pytest.raises(InputError, match="does not exist"):
        load_judgments(tmp_path / "absent.csv")


def test_writer_rejects_names_that_would_break_the_csv(tmp_path):
    writer = JudgmentWriter(tmp_path / "j.csv")
    for name in ("", "  ", "a\nb", "x" * 65):
        with pytest.raises(InputError, match="judge name"):
            writer.append(Judgment("snow", "s1", True, name))


# ---------------------------------------------------------------------------- aggregation


def _plan(tmp_path):
    photo = tmp_path / "snow.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return {
        "version": 1,
        "k": 2,
        "seed": 0,
        "methods": ["ours", "KM"],
        "images": [
            {
                "id": "snow-forest",
                "theme": "snow forest",
                "path": str(photo),
                "songs": [
                    {"song_id": "a", "title": "雪夜", "artist": "甲", "lyrics": "大雪", "methods": {"ours": 1}},
                    {"song_id": "b", "title": "寒江", "artist": "乙", "lyrics": "独钓", "methods": {"ours": 2, "KM": 1}},
                    {"song_id": "c", "title": "春花", "artist": "丙", "lyrics": "花开", "methods": {"ours": 3}},
                ],
            },
            {
                "id": "coffee",
                "theme": "coffee",
                "path": str(tmp_path / "missing.jpg"),
                "songs": [{"song_id": "d", "title": "茶", "artist": "丁", "lyrics": "", "methods": {"ours": 1, "KM": 1}}],
            },
        ],
    }


def test_precision_known_answer_per_theme_and_method(tmp_path):
    plan = _plan(tmp_path)
    judgments = [
        Judgment("snow-forest", "a", True, "ann"),
        Judgment("snow-forest", "b", True, "ann"),
        Judgment("snow-forest", "c", True, "ann"),  # rank 3: outside ours' top 2
        Judgment("snow-forest", "a", False, "bo"),
        Judgment("snow-forest", "b", True, "bo"),
        Judgment("coffee", "d", False, "ann"),
    ]
    rows = {(r["theme"], r["method"]): r for r in aggregate_precision(plan, judgments, n_resamples=500, seed=1)}
    # snow/ours: ann 1,1 and bo 0,1 -> 3/4.  snow/KM: one song (b) + one empty place, per judge: (1+0+1+0)/4.
    assert rows[("snow forest", "ours")]["precision"] == pytest.approx(0.75)
    assert rows[("snow forest", "ours")]["judged"] == 4 and rows[("snow forest", "ours")]["judges"] == 2
    assert rows[("snow forest", "ours")]["paper"] == 0.776
    assert rows[("snow forest", "KM")]["precision"] == pytest.approx(0.5)
    # coffee: only ann; ours and KM each have d (irrelevant) and one empty place -> 0.
    assert rows[("coffee", "ours")]["precision"] == 0.0 and rows[("coffee", "ours")]["ci_high"] == 0.0
    # all/ours: snow 1,1,0,1 + coffee 0,0 -> 3/6.
    assert rows[("all", "ours")]["precision"] == pytest.approx(0.5)
    low, high = rows[("snow forest", "ours")]["ci_low"], rows[("snow forest", "ours")]["ci_high"]
    assert 0.0 <= low <= 0.75 <= high <= 1.0
    again = {(r["theme"], r["method"]): r for r in aggregate_precision(plan, judgments, n_resamples=500, seed=1)}
    assert again[("snow forest", "ours")]["ci_low"] == low  # seeded


def test_precision_counts_songs_not_yet_judged_as_missing(tmp_path):
    plan = _plan(tmp_path)
    rows = {(r["theme"], r["method"]): r for r in aggregate_precision(plan, [Judgment("snow-forest", "a", True, "ann")])}
    assert rows[("snow forest", "ours")]["precision"] == 1.0
    assert rows[("snow forest", "ours")]["missing"] == 1


def test_plan_round_trip_and_bad_plans(tmp_path):
    plan = _plan(tmp_path)
    save_plan(plan, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == plan
    (tmp_path / "bad.json").write_text(json.dumps({"version": 1, "images": []}))
    with pytest.raises(InputError, match="lists no images"):
        load_plan(tmp_path / "bad.json")
    with pytest.raises(InputError, match="does not exist"):
        load_plan(tmp_path / "none.json")


# ---------------------------------------------------------------------------- the page


@pytest.fixture
def client_factory(tmp_path):
    from fastapi.testclient import TestClient

    from graphrec.evaluate.judge_app import create_app

    def make():
        return TestClient(create_app(_plan(tmp_path), tmp_path / "judgments.csv"))

    return make


def test_page_is_self_contained(client_factory):
    client = client_factory()
    page = client.get("/")
    assert page.status_code == 200 and "/static/judge.js" in page.text
    for name in ("judge.js", "judge.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text  # nothing from a CDN
    assert "https://" not in page.text and "http://" not in page.text
    assert client.get("/static/../judgments.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404


def test_task_mixes_songs_and_hides_methods(client_factory):
    client = client_factory()
    task = client.get("/api/task", params={"judge": "ann"})
    assert task.status_code == 200
    body = task.json()
    assert body["image"] == {"id": "snow-forest", "theme": "snow forest", "url": "/api/image/snow-forest"}
    assert sorted(s["song_id"] for s in body["songs"]) == ["a", "b", "c"]
    assert all(set(s) == {"song_id", "title", "artist", "lyrics", "relevant"} for s in body["songs"])
    text = task.text
    for secret in ('"methods"', "ours", "KM", '"rank"'):
        assert secret not in text
    assert client.get("/api/task", params={"judge": "ann"}).json()["songs"] == body["songs"]  # a fixed order
    assert client.get("/api/image/snow-forest").content.startswith(b"\x89PNG")
    assert client.get("/api/image/coffee").status_code == 404  # file missing on the server
    assert client.get("/api/image/..%2Fplan").status_code == 404


def test_judgments_are_saved_at_once_and_survive_a_restart(client_factory, tmp_path):
    client = client_factory()
    for song, relevant in (("a", True), ("b", False)):
        response = client.post("/api/judgments", json={"image": "snow-forest", "song_id": song, "relevant": relevant, "judge": "ann"})
        assert response.status_code == 200 and response.json()["saved"] is True
    # On disk before the answer came back.
    assert load_judgments(tmp_path / "judgments.csv").latest() == {("snow-forest", "a", "ann"): True, ("snow-forest", "b", "ann"): False}
    # A new server (the old one was closed) shows ann her answers and the photo she has not finished.
    restarted = client_factory()
    task = restarted.get("/api/task", params={"judge": "ann"}).json()
    answers = {s["song_id"]: s["relevant"] for s in task["songs"]}
    assert task["image"]["id"] == "snow-forest" and answers == {"a": True, "b": False, "c": None}
    restarted.post("/api/judgments", json={"image": "snow-forest", "song_id": "c", "relevant": True, "judge": "ann"})
    assert restarted.get("/api/task", params={"judge": "ann"}).json()["image"]["id"] == "coffee"
    assert restarted.get("/api/plan", params={"judge": "ann"}).json()["images"][0]["judged"] == 3
    restarted.post("/api/judgments", json={"image": "coffee", "song_id": "d", "relevant": False, "judge": "ann"})
    assert restarted.get("/api/task", params={"judge": "ann"}).json() == {"done": True, "images": 2}
    assert restarted.get("/api/task", params={"judge": "bo"}).json()["image"]["id"] == "snow-forest"


def test_bad_judgments_are_refused_and_not_written(client_factory, tmp_path):
    client = client_factory()
    cases = [
        ({"image": "nowhere", "song_id": "a", "relevant": True, "judge": "ann"}, 404),
        ({"image": "coffee", "song_id": "a", "relevant": True, "judge": "ann"}, 404),  # a is not one of coffee's songs
        ({"image": "snow-forest", "song_id": "a", "relevant": True, "judge": "a\nb"}, 422),
        ({"image": "snow-forest", "song_id": "a", "relevant": "perhaps", "judge": "ann"}, 422),
    ]
    for body, status in cases:
        assert client.post("/api/judgments", json=body).status_code == status
    assert load_judgments(tmp_path / "judgments.csv").judgments == []
    assert client.get("/api/task", params={"judge": ""}).status_code == 422
    assert client.get("/api/task", params={"judge": "ann", "image": "nope"}).status_code == 404


def test_judge_command_reports_precision(tmp_path, capsys):
    from graphrec.cli import main

    plan_path = save_plan(_plan(tmp_path), tmp_path / "plan.json")
    writer = JudgmentWriter(tmp_path / "plan.judgments.csv")  # the command's default name beside the plan
    for song, relevant in (("a", True), ("b", False)):
        writer.append(Judgment("snow-forest", song, relevant, "ann"))
    assert main(["judge", str(plan_path), "--report", "--json", "-k", "2"]) == 0
    rows = {(r["theme"], r["method"]): r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows[("snow forest", "ours")]["precision"] == pytest.approx(0.5)
    assert main(["judge", str(tmp_path / "absent.json"), "--report"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_make_plan_from_a_real_tiny_model(tmp_path):
    from conftest import THEMES, make_images, make_songs, solid_image, tiny_config
    from fastapi.testclient import TestClient

    from graphrec.evaluate.judge_app import create_app
    from graphrec.evaluate.judgments import make_plan
    from graphrec.recommender import Recommender

    model = Recommender.build(make_songs(), make_images(tmp_path / "images"), tiny_config(), show_progress=False)
    photo = solid_image(tmp_path / "white.png", THEMES["雪"]["colour"], seed=5)
    plan = make_plan(model, [("snow forest", photo), ("snow forest", photo)], k=3, seed=0)
    assert [img["id"] for img in plan["images"]] == ["snow-forest", "snow-forest-2"]
    songs = plan["images"][0]["songs"]
    ours = sorted((s["methods"]["ours"], s["song_id"]) for s in songs if "ours" in s["methods"])
    assert len(ours) == 3 and all(song_id.startswith("雪") for _, song_id in ours)  # a white photo gets snow songs
    assert all(set(s["methods"]) <= {"ours", "KM", "POP", "random"} for s in songs)
    assert len({s["song_id"] for s in songs}) == len(songs)  # a song proposed by several methods is shown once
    client = TestClient(create_app(plan, tmp_path / "j.csv"))
    task = client.get("/api/task", params={"judge": "ann"}).json()
    assert len(task["songs"]) == len(songs) and '"methods"' not in json.dumps(task)
