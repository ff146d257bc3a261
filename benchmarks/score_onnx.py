"""`graphrec score` end to end against a bare ONNX Runtime batched forward on the same images, in one run.

    .venv/bin/python benchmarks/score_onnx.py [--model data/model] [--images 256] [--batch-size 32] [--repeats 2] [--no-save]

The images are the first ``--images`` shipped weather photos (data/images/photos, real JPEGs). Measured,
interleaved ``--repeats`` times (best of each kept; the machine is shared):

* ``bare_onnx_images_per_s`` (the reference): the exported EfficientNet-Lite0 in ONNX Runtime on the
  images decoded and preprocessed beforehand, in batches of ``--batch-size``;
* ``pipeline_images_per_s``: ``graphrec.vision.extract_features`` (decoding in workers overlapping
  the ONNX forward): what ``score`` and ``build`` run to featurise;
* ``score_images_per_s``: ``graphrec.batch.score_folder`` (what `graphrec score` runs): decoding,
  forward, both recommendation stages, rows written and fsynced per batch;
* ``score_torch_images_per_s``: the same with ``GRAPHREC_FEATURIZER_BACKEND=torch`` (before issue 15);
* ``second_stage_ms_per_image``: ``recommend_features`` alone on ready features, the part of
  ``score`` that is not featurising.

Ratios: pipeline / bare, score / bare (issue 15's target: >= 0.9), score / score_torch.
One JSON line appended to benchmarks/results/score_onnx.jsonl (and printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _results import save_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "score_onnx.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "data" / "model")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("GRAPHREC_NO_PROGRESS", "1")
    sys.path.insert(0, str(ROOT))
    import torch

    import graphrec
    from graphrec.batch import score_folder
    from graphrec.vision import extract_features
    from graphrec.vision.efficientnet import EfficientNetLite0

    photos = sorted((ROOT / "data" / "images" / "photos").rglob("*.jpg"))[: args.images]
    model = graphrec.load(args.model)
    onnx = EfficientNetLite0(backend="onnx")
    torch_featurizer = EfficientNetLite0(backend="torch")
    model_torch = graphrec.Recommender.from_parts(model.to_parts(), featurizer=torch_featurizer)
    model_onnx = graphrec.Recommender.from_parts(model.to_parts(), featurizer=onnx)
    bs = args.batch_size
    with tempfile.TemporaryDirectory(prefix="graphrec-score-onnx-") as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        for i, path in enumerate(photos):
            shutil.copyfile(path, folder / f"{i:05d}.jpg")
        files = sorted(folder.iterdir())
        prepared = np.stack([onnx.load(p).numpy() for p in files])
        onnx._onnx(prepared[:2])  # warm-up
        features = np.concatenate([onnx._onnx(prepared[i:i + bs]) for i in range(0, len(prepared), bs)])
        model_onnx.recommend_features(features[:4], 10)
        runs: dict[str, list[float]] = {"bare": [], "pipeline": [], "score": [], "score_torch": [], "second_stage_ms": []}
        for r in range(max(1, args.repeats)):
            start = time.perf_counter()
            for i in range(0, len(prepared), bs):
                onnx._onnx(prepared[i:i + bs])
            runs["bare"].append(len(prepared) / (time.perf_counter() - start))

            start = time.perf_counter()
            out = extract_features(onnx, files, batch_size=bs, show_progress=False)
            runs["pipeline"].append(len(out.ok) / (time.perf_counter() - start))
            assert not out.failures

            summary = score_folder(model_onnx, folder, Path(tmp) / f"onnx-{r}.jsonl", batch_size=bs, show_progress=False)
            runs["score"].append(summary.scored / summary.seconds)

            start = time.perf_counter()
            model_onnx.recommend_features(features, 10)
            runs["second_stage_ms"].append((time.perf_counter() - start) * 1000 / len(features))

            summary = score_folder(model_torch, folder, Path(tmp) / f"torch-{r}.jsonl", batch_size=bs, show_progress=False)
            runs["score_torch"].append(summary.scored / summary.seconds)
            print(json.dumps({k: round(v[-1], 2) for k, v in runs.items()}), file=sys.stderr, flush=True)

    best = {k: (min(v) if k.endswith("_ms") else max(v)) for k, v in runs.items()}
    result = {
        "benchmark": "score_onnx",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": "bare ONNX Runtime batched forward on the same images, decoded and preprocessed beforehand",
        "model": str(args.model), "images": len(photos), "batch_size": bs, "songs": len(model.songs_),
        "model_images": len(model.images_),
        "bare_onnx_images_per_s": round(best["bare"], 2),
        "pipeline_images_per_s": round(best["pipeline"], 2),
        "score_images_per_s": round(best["score"], 2),
        "score_torch_images_per_s": round(best["score_torch"], 2),
        "second_stage_ms_per_image": round(best["second_stage_ms"], 2),
        "ratios": {
            "pipeline_vs_bare": round(best["pipeline"] / best["bare"], 3),
            "score_vs_bare": round(best["score"] / best["bare"], 3),
            "score_vs_score_torch": round(best["score"] / best["score_torch"], 2),
        },
        "runs": {k: [round(x, 2) for x in v] for k, v in runs.items()},
        "onnxruntime": onnx.describe()["backend"], "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
        "note": "2-core machine shared with other engineers; every figure from this one run",
    }
    save_result(RESULTS, result, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
