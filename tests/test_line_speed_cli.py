"""benchmarks/line_speed.py: the reference-compatible interface, its output files and its quality mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "line_speed.py"


def run(*args: object) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args), "--no-progress"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def small_graph(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("graph") / "edges.txt"
    info = run("--generate", path, "--scale", 0.02, "--seed", 4, "--results", "")
    return path, info


def test_generate_is_seeded_and_paper_shaped(small_graph, tmp_path):
    path, info = small_graph
    assert info["songs"] == round(62_316 * 0.02) and info["images"] == round(33_459 * 0.02) and info["keywords"] == 72
    lines = path.read_text().splitlines()
    assert len(lines) == info["directed_edges"] == 2 * info["undirected_edges"]
    # Each undirected edge appears in both directions with the same weight.
    first, second = lines[0].split(), lines[1].split()
    assert (first[0], first[1], first[2]) == (second[1], second[0], second[2])
    # About 3.65 keywords per song or image, as in the paper's graph (~350k edges over ~95.8k nodes).
    assert 3.2 < info["undirected_edges"] / (info["songs"] + info["images"]) < 4.1
    again = tmp_path / "again.txt"
    run("--generate", again, "--scale", 0.02, "--seed", 4, "--results", "")
    assert again.read_bytes() == path.read_bytes()


def test_train_writes_word2vec_binary_and_a_json_line(small_graph, tmp_path):
    from gensim.models import KeyedVectors

    path, info = small_graph
    out, results = tmp_path / "emb.bin", tmp_path / "results.jsonl"
    record = run(
        "--edges", path, "--order", 2, "--dim", 8, "--negative", 5, "--samples", 50_000, "--threads", 1,
        "--rho", 0.025, "--seed", 3, "--out", out, "--results", results, "--split",
    )  # fmt: skip
    for key in ("samples_per_s", "train_seconds", "load_seconds", "compile_seconds", "peak_rss_mb", "sampling_seconds"):
        assert record[key] > 0, key
    assert (record["order"], record["threads"], record["samples"]) == (2, 1, 50_000)
    assert record["nodes"] == info["songs"] + info["images"] + info["keywords"]
    assert json.loads(results.read_text().splitlines()[-1]) == record
    kv = KeyedVectors.load_word2vec_format(str(out), binary=True)
    assert kv.vectors.shape == (record["nodes"], 8)
    assert kv.index_to_key[:2] == path.read_text().split()[:2]  # ids in order of first appearance
    assert np.isfinite(kv.vectors).all() and np.abs(kv.vectors).max() > 0.1 / 8


def test_quality_mode_finds_the_latent_themes(small_graph, tmp_path):
    path, _ = small_graph
    record = run(
        "--edges", path, "--quality", "--dim", 16, "--samples", 300_000, "--threads", 1, "--seed", 2,
        "--results", tmp_path / "r.jsonl", "--reference-samples", 300_000,
    )  # fmt: skip
    run_ = record["run"]
    # Songs that share a keyword share a theme: both orders must put them closer than unrelated songs.
    assert run_["auc_share_order1"] > 0.8 and run_["auc_share_order2"] > 0.7
    # Held-out edges mostly join a song to its theme's keywords: a theme oracle scores 0.87 here,
    # keyword popularity alone 0.70.
    assert run_["auc_link_order1"] > 0.78
    assert record["auc_link_keyword_degree"] < 0.75
    # Same samples, same single thread, same seed: the reference run is the same run.
    assert record["delta_vs_reference"] == {"auc_link_order1": 0.0, "auc_share_order1": 0.0, "auc_share_order2": 0.0}
    assert record["equal_quality"] is True


def test_bad_edge_file_is_reported(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a b 1.0\nc d\n")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--edges", str(bad), "--out", str(tmp_path / "e.bin"), "--results", ""],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0 and "bad.txt:2" in proc.stderr


def load_benchmark_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("line_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("line_speed", module)
    spec.loader.exec_module(module)
    return module


def test_auc_known_answers():
    bench = load_benchmark_module()
    assert bench.auc(np.array([2.0, 3.0]), np.array([1.0, 0.0])) == 1.0
    assert bench.auc(np.array([0.0]), np.array([1.0])) == 0.0
    assert bench.auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5  # ties count half


def test_quality_split_holds_out_both_directions(small_graph):
    bench = load_benchmark_module()
    names, src, dst, weight = bench.load_edges(small_graph[0])
    split = bench.make_split(names, src, dst, weight, seed=5)
    train = set(zip(split.src.tolist(), split.dst.tolist()))
    every = set(zip(src.tolist(), dst.tolist()))
    held = list(zip(*(a.tolist() for a in split.held)))
    assert len(held) == round(0.05 * sum(names[a].startswith("song:") and names[b].startswith("kw:") for a, b in every))
    assert all((a, b) not in train and (b, a) not in train and (a, b) in every for a, b in held)
    assert len(train) == len(every) - 2 * len(held)
    assert not any((a, b) in every for a, b in zip(*(x.tolist() for x in split.non_edges)))
    assert all(names[a].startswith("song:") and names[b].startswith("song:") for a, b in zip(*(x.tolist() for x in split.share)))
