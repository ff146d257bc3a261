"""First-stage index at scale: FAISS HNSW and IVF-PQ against exact search, in one run.

    .venv/bin/python benchmarks/index_scale.py [--sizes 10000,100000,1000000] [--dims 1280,4096]
        [--kinds hnsw,ivfpq] [--queries 200] [--max-gb 12] [--no-save]

For each size n and dimension d: n synthetic unit vectors, clustered as CNN features are (1,000
cluster centres, a 32-dimensional spread around each, a little isotropic noise; uniform noise in
high dimension has no near neighbours to find), and ``--queries`` more from the same distribution.
The reference is ``ExactIndex`` (numpy brute force) on the same vectors in the same run:

* ``build_s``: ``graphrec.index.make_index(vectors, kind)``, the index the recommender would build;
* ``index_mb``: its size (FAISS's serialised bytes; exact: the float32 matrix);
* ``query_ms``: mean latency of one query at a time (as ``recommend()`` asks), k = 5;
* ``recall_at_5``: share of the exact 5 nearest found;
* ``speedup_vs_exact`` = exact query_ms / this index's query_ms.

A combination whose exact matrix (n x d float32) is larger than ``--max-gb`` is skipped and listed
under ``skipped``; HNSW is skipped from ``--hnsw-max`` vectors on (its build is hours on 2 cores).
One JSON line per run is appended to benchmarks/results/index_scale.jsonl (and printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from _results import save_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "index_scale.jsonl"


def clustered_unit_vectors(n: int, dim: int, *, seed: int, centres: np.ndarray, basis: np.ndarray, chunk: int = 50_000) -> np.ndarray:
    """``n`` unit vectors around ``centres``, spread along a per-run 32-d ``basis``; built in chunks to bound memory."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        block = centres[rng.integers(0, len(centres), m)]
        block += rng.standard_normal((m, basis.shape[0]), dtype=np.float32) @ basis
        block += rng.standard_normal((m, dim), dtype=np.float32) * np.float32(0.3 / np.sqrt(dim))
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:start + m] = block
    return out


def query_ms(index: Any, queries: np.ndarray, k: int, limit_s: float) -> tuple[float, int]:
    """Mean milliseconds per single-query search, over the first queries that fit in ``limit_s``."""
    index.search(queries[:1], k)  # warm-up
    done = 0
    start = time.perf_counter()
    for q in queries:
        index.search(q[None, :], k)
        done += 1
        if time.perf_counter() - start > limit_s and done >= 5:
            break
    return (time.perf_counter() - start) * 1000 / done, done


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found.tolist(), truth.tolist())]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dims", default="1280,4096")
    parser.add_argument("--kinds", default="hnsw,ivfpq")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-gb", type=float, default=12.0, help="skip sizes whose float32 matrix is larger")
    parser.add_argument("--hnsw-max", type=int, default=500_000, help="skip HNSW from this many vectors on")
    parser.add_argument("--exact-time-s", type=float, default=20.0, help="time spent timing exact single queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from graphrec.index import ExactIndex, FaissIndex, make_index

    sizes = [int(s) for s in args.sizes.split(",")]
    dims = [int(d) for d in args.dims.split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for dim in dims:
        rng = np.random.default_rng(args.seed + dim)
        centres = rng.standard_normal((1000, dim), dtype=np.float32)
        basis = rng.standard_normal((32, dim), dtype=np.float32) * np.float32(0.6 / np.sqrt(32))
        queries = clustered_unit_vectors(args.queries, dim, seed=args.seed + 1, centres=centres, basis=basis)
        for n in sizes:
            gb = n * dim * 4 / 1e9
            if gb > args.max_gb:
                skipped.append(f"n={n} dim={dim}: the exact reference needs {gb:.1f} GB > --max-gb {args.max_gb}")
                continue
            vectors = clustered_unit_vectors(n, dim, seed=args.seed + 2, centres=centres, basis=basis)
            start = time.perf_counter()
            exact = ExactIndex(vectors)
            exact_build = time.perf_counter() - start
            truth, _ = exact.search(queries, args.k)
            exact_ms, exact_timed = query_ms(exact, queries, args.k, args.exact_time_s)
            row: dict[str, Any] = {
                "n": n, "dim": dim,
                "exact": {"build_s": round(exact_build, 3), "index_mb": round(vectors.nbytes / 2**20, 1),
                          "query_ms": round(exact_ms, 3), "queries_timed": exact_timed},
            }
            print(f"n={n} dim={dim} exact {exact_ms:.2f} ms/query", file=sys.stderr, flush=True)
            del exact
            for kind in kinds:
                if kind == "hnsw" and n >= args.hnsw_max:
                    skipped.append(f"n={n} dim={dim} hnsw: --hnsw-max {args.hnsw_max}")
                    continue
                rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                start = time.perf_counter()
                index = make_index(vectors, kind=kind, seed=args.seed)
                build = time.perf_counter() - start
                assert isinstance(index, FaissIndex)
                found, _ = index.search(queries, args.k)
                ms, timed = query_ms(index, queries, args.k, 60.0)
                row[kind] = {
                    "build_s": round(build, 2), "index_mb": round(len(index.to_bytes()) / 2**20, 1),
                    "peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
                    "query_ms": round(ms, 3), "queries_timed": timed,
                    "recall_at_5": round(recall(found, truth), 4),
                    "speedup_vs_exact": round(exact_ms / ms, 1),
                    "params": index.describe(),
                }
                print(f"  {kind}: {json.dumps(row[kind])}", file=sys.stderr, flush=True)
                del index
            rows.append(row)
            del vectors

    import faiss

    result = {
        "benchmark": "index_scale",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": "ExactIndex (numpy brute force) on the same vectors, same run",
        "data": "synthetic clustered unit vectors (1000 centres, 32-d spread, isotropic noise)",
        "k": args.k, "queries": args.queries, "rows": rows, "skipped": skipped,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "faiss": faiss.__version__, "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "machine": platform.machine(),
        "note": "2-core machine shared with other engineers; ratios are measured in the same run",
    }
    save_result(RESULTS, result, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
