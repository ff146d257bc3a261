"""--engine ray: the same rows, errors and resume contract as the local engine, on a local Ray cluster the test starts.

Ray is an optional extra (``pip install 'graphrec[ray]'``): without it these tests skip, except the
ones that check the error that says how to install it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from graphrec.batch import errors_path_for, score_folder
from graphrec.errors import BackendUnavailableError, InputError
from graphrec.vision.engines import FeatureEngine, require_ray
from test_batch import BAD, _count_lines, make_folder, read_jsonl


def test_without_ray_the_engine_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(BackendUnavailableError, match=r"pip install 'graphrec\[ray\]'"):
        require_ray()


def test_cli_without_ray_fails_before_any_work(monkeypatch, tmp_path, capsys):
    from graphrec.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    (tmp_path / "imgs").mkdir()
    code = main(["score", str(tmp_path / "imgs"), "--out", str(tmp_path / "out.jsonl"), "--engine", "ray"])
    assert code != 0 and "graphrec[ray]" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_engine_options_are_checked():
    with pytest.raises(InputError, match="'local' or 'ray'"):
        FeatureEngine("spark")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="--engine ray"):
        FeatureEngine("local", address="ray://head:10001")
    with pytest.raises(InputError, match="positive integer"):
        FeatureEngine("ray", actors=0)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_scores_exactly_like_the_local_engine(tiny_recommender, tmp_path, ray_cluster):
    make_folder(tmp_path / "imgs", per_theme=4)
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    a = score_folder(tiny_recommender, tmp_path / "imgs", local, k=3, batch_size=2, show_progress=False)
    b = score_folder(tiny_recommender, tmp_path / "imgs", remote, k=3, batch_size=2, show_progress=False,
                     engine=FeatureEngine("ray", actors=2))
    assert (a.found, a.scored, a.failed) == (b.found, b.scored, b.failed) == (15, 12, 3)
    assert read_jsonl(remote) == read_jsonl(local)  # same rows, same order, same songs and reasons
    assert read_jsonl(errors_path_for(remote)) == read_jsonl(errors_path_for(local))
    assert {e["path"] for e in read_jsonl(errors_path_for(remote))} == BAD


def test_ray_resumes_a_torn_run_exactly_once(tiny_recommender, tmp_path, ray_cluster):
    truth = make_folder(tmp_path / "imgs", per_theme=4)
    out = tmp_path / "ray.jsonl"
    engine = FeatureEngine("ray", actors=2)
    score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, batch_size=3, show_progress=False, engine=engine)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:5]) + lines[5][:7])  # a crash in the middle of the sixth row
    summary = score_folder(tiny_recommender, tmp_path / "imgs", out, k=2, batch_size=3, show_progress=False, engine=engine)
    assert (summary.skipped_done, summary.scored, summary.failed) == (5 + len(BAD), len(truth) - 5, 0)
    paths = [r["path"] for r in read_jsonl(out)]
    assert paths == sorted(truth)


def test_build_features_on_ray_match_local(tmp_path, ray_cluster):
    from conftest import make_images
    from graphrec.vision import extract_features, get_featurizer

    images = make_images(tmp_path / "imgs", per_theme=3)
    paths = [r.path for r in images] + [str(tmp_path / "missing.png")]
    featurizer = get_featurizer("hsv_hist")
    local = extract_features(featurizer, paths, batch_size=4, show_progress=False)
    remote = extract_features(featurizer, paths, batch_size=4, show_progress=False, engine=FeatureEngine("ray"))
    assert remote.ok == local.ok and remote.failed == local.failed == [len(paths) - 1]
    np.testing.assert_array_equal(remote.features, local.features)
    assert remote.failures == local.failures


@pytest.mark.slow
def test_kill9_of_a_ray_run_then_rerun_scores_every_image_exactly_once(tiny_model_dir, tmp_path):
    pytest.importorskip("ray")
    truth = make_folder(tmp_path / "imgs", per_theme=100, size=16)
    out = tmp_path / "results.jsonl"
    cmd = [
        sys.executable, "-m", "graphrec.cli", "--no-progress", "score", str(tmp_path / "imgs"), "--engine", "ray",
        "--ray-actors", "2", "--model", str(tiny_model_dir), "--out", str(out), "--k", "3", "--batch-size", "4",
    ]
    env = {**os.environ, "GRAPHREC_NO_PROGRESS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while _count_lines(out) < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local cluster it started
    proc.wait()
    rows_at_kill = _count_lines(out)
    assert 20 <= rows_at_kill < len(truth), "the kill must land mid-run for this test to mean anything"

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = read_jsonl(out)
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) and sorted(paths) == sorted(truth)
    assert sorted(e["path"] for e in read_jsonl(errors_path_for(out))) == sorted(BAD)
