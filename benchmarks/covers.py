"""Album-cover lab speed: descriptor throughput against decoding, FAISS HNSW against exact search, in one run.

    .venv/bin/python benchmarks/covers.py [--images 64] [--indexes 5168x256,50000x960] [--queries 500] [--no-save]

Descriptors: 192x192 JPEG covers drawn here (blocks of colour, a gradient, noise: the real covers are not
ours to ship), each descriptor's ``graphrec.vision.extract_features`` throughput (images/s, decode + compute,
no cache) beside the reference ``decode_images_per_s`` (the same pipeline on the same files with nothing to
compute: decoding alone), as a ratio.

Nearest neighbours: clustered random vectors of the descriptors' dimensions (256 pixels, 960 GIST, 1280
EfficientNet), unit length as the cover index holds them, ``n`` of them (``--indexes NxDIM,...``); per query (one at a time, as
``graphrec covers similar`` asks) the latency of ``FaissIndex(kind="hnsw")`` and of the reference
``ExactIndex`` (numpy brute force), their ratio ``speedup_vs_exact``, and HNSW's recall@10 against exact.

Each result is one JSON line appended to benchmarks/results/covers.json (and printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "covers.json"


def draw_jpegs(root: Path, n: int, seed: int = 0) -> list[Path]:
    """Cover-sized JPEGs: a gradient, a few solid blocks, noise; decoding costs what a 192 px cover costs."""
    rng = np.random.default_rng(seed)
    paths = []
    ramp = np.linspace(0, 1, 192, dtype=np.float32)
    for i in range(n):
        base = rng.uniform(0, 255, 3) * ramp[:, None, None] + rng.uniform(0, 255, 3) * (1 - ramp[None, :, None])
        pixels = np.broadcast_to(base, (192, 192, 3)).copy()
        for _ in range(4):
            y, x, h, w = rng.integers(0, 150, 4)
            pixels[y:y + h, x:x + w] = rng.uniform(0, 255, 3)
        pixels += rng.normal(0, 8, pixels.shape)
        path = root / f"cover-{i:04d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=85)
        paths.append(path)
    return paths


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2)


def _decode_only() -> Any:
    """The reference: the same extract_features pipeline (decode workers, batching) with no descriptor to compute."""
    from graphrec.vision.base import BaseFeaturizer

    class DecodeOnly(BaseFeaturizer):
        name, dim = "decode_only", 1

        def prepare(self, image: Image.Image) -> np.ndarray:
            return np.zeros(1, dtype=np.float32)

        def compute(self, items: Any) -> np.ndarray:
            return np.zeros((len(items), 1), dtype=np.float32)

        def describe(self) -> dict:
            return {"name": self.name}

    return DecodeOnly()


def descriptor_rates(paths: list[Path], names: list[str], repeats: int) -> dict[str, Any]:
    from graphrec.vision import extract_features, get_featurizer

    def best_rate(featurizer: Any) -> float:
        extract_features(featurizer, paths[:4], show_progress=False)  # warm-up: model load, first-call allocations
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            batch = extract_features(featurizer, paths, show_progress=False)
            runs.append(_rate(len(batch.ok), time.perf_counter() - start))
        return max(runs)

    out: dict[str, Any] = {"decode_images_per_s": best_rate(_decode_only())}
    for name in names:
        out[f"{name}_images_per_s"] = best_rate(get_featurizer(name))
        out[f"{name}_ratio_to_decode"] = round(out[f"{name}_images_per_s"] / out["decode_images_per_s"], 4)
    return out


def clustered_unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dim)).astype(np.float32)
    x = centres[rng.integers(0, 64, n)] + 0.8 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ann_rates(n: int, dim: int, queries: int, seed: int) -> dict[str, Any]:
    from graphrec.index import ExactIndex, FaissIndex

    x = clustered_unit_vectors(n + queries, dim, seed)
    base, q = x[:n], x[n:]
    exact = ExactIndex(base)
    start = time.perf_counter()
    hnsw = FaissIndex(base, kind="hnsw")
    build = time.perf_counter() - start

    def per_query_ms(index: Any) -> float:
        index.search(q[:8], 10)
        start = time.perf_counter()
        for row in q:
            index.search(row[None, :], 10)
        return 1000 * (time.perf_counter() - start) / len(q)

    exact_ms, hnsw_ms = per_query_ms(exact), per_query_ms(hnsw)
    truth, _ = exact.search(q, 10)
    found, _ = hnsw.search(q, 10)
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    return {"n": n, "dim": dim, "queries": queries, "hnsw": hnsw.describe(), "hnsw_build_s": round(build, 3),
            "exact_ms_per_query": round(exact_ms, 4), "hnsw_ms_per_query": round(hnsw_ms, 4),
            "speedup_vs_exact": round(exact_ms / hnsw_ms, 2), "recall@10_vs_exact": round(recall, 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="passes per measurement; the best is kept (a shared machine is noisy)")
    parser.add_argument("--descriptors", default="pixels16,hsv_hist,gist,efficientnet_lite0")
    parser.add_argument("--indexes", default="5168x256,5168x960,5168x1280,50000x960",
                        help="NxDIM index shapes (default: the covers with each descriptor's dimension, and ten times GIST's)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=1, help="torch threads for the CNN (default 1, as the experiments)")
    parser.add_argument("--no-save", action="store_true", help=f"do not append to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.torch_threads)
    common = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              "python": platform.python_version(), "load_average_1m": round(os.getloadavg()[0], 2), "seed": args.seed}
    results = []
    with tempfile.TemporaryDirectory(prefix="graphrec-covers-bench-") as tmp:
        paths = draw_jpegs(Path(tmp), args.images, args.seed)
        names = [d.strip() for d in args.descriptors.split(",") if d.strip()]
        results.append({"benchmark": "covers_descriptors", "images": args.images, "image_size": 192, "reference": "decode_images_per_s",
                        **descriptor_rates(paths, names, args.repeats), **common})
    for shape in args.indexes.split(","):
        n, _, dim = shape.strip().partition("x")
        results.append({"benchmark": "covers_ann", "reference": "exact_ms_per_query (ExactIndex)",
                        **ann_rates(int(n), int(dim), args.queries, args.seed), **common})
    for result in results:
        line = json.dumps(result, sort_keys=True)
        print(line)
        if not args.no_save:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with open(RESULTS, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
