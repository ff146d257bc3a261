"""Featurisation throughput: the full VGG-19 fc7 pipeline against a bare batched forward, in one run.

    .venv/bin/python benchmarks/featurize.py [--images 32] [--repeats 2] [--batch-size 16] [--workers N] [--device auto]

Writes JPEG photos-like files (smooth random colour fields, 480x360) to a temp dir, then measures

* ``pipeline_images_per_s``: graphrec.vision.extract_features(VGG19Fc7) on those files: decode +
  the weights enum's preprocessing in DataLoader workers + forward;
* ``bare_forward_images_per_s``: the same model's forward on the same images, decoded and
  preprocessed beforehand, in batches of the same size (the reference: the best the pipeline can do);
* ``ratio`` = pipeline / bare (target >= 0.9);
* ``gist_images_per_s``, ``efficientnet_images_per_s``: extract_features with those featurizers;
* ``peak_rss_mb``: this process's peak resident memory (DataLoader workers separately).

VGG uses weights=None: random weights cost exactly the same time as the ImageNet ones, and this
machine cannot download them. The last output line is the JSON result, also appended to
benchmarks/results/featurize.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

RESULTS = Path(__file__).resolve().parent / "results" / "featurize.jsonl"


def write_images(root: Path, n: int, seed: int = 0) -> list[Path]:
    """Photo-sized JPEGs with smooth structure (upsampled noise), so decoding costs what a photo costs."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((480, 360), Image.Resampling.BICUBIC)
        noise = rng.integers(-10, 11, (360, 480, 3))
        pixels = np.clip(np.asarray(image).astype(int) + noise, 0, 255).astype(np.uint8)
        path = root / f"photo-{i:04d}.jpg"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="number of image files (default 32)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="bare and pipeline passes, interleaved; the best of each is kept (a shared machine is noisy)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="decode workers (default: graphrec's default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-save", action="store_true", help="do not append to benchmarks/results/featurize.jsonl")
    args = parser.parse_args(argv)

    import torch

    from graphrec._env import decode_workers
    from graphrec.vision import extract_features
    from graphrec.vision.base import resolve_device
    from graphrec.vision.efficientnet import EfficientNetLite0
    from graphrec.vision.gist import Gist
    from graphrec.vision.io import load_image
    from graphrec.vision.vgg import VGG19Fc7

    device = resolve_device(args.device)
    workers = decode_workers(args.workers)
    bs = args.batch_size
    result: dict[str, object] = {
        "benchmark": "featurize",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "images": args.images, "batch_size": bs, "workers": workers, "device": device,
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "python": platform.python_version(),
        "load_average_1m": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="graphrec-featurize-") as tmp:
        paths = write_images(Path(tmp), args.images)

        vgg = VGG19Fc7(weights=None, device=device)
        tensors = [vgg.prepare(load_image(p)) for p in paths]
        batches = [torch.stack(tensors[i:i + bs]) for i in range(0, len(tensors), bs)]
        with torch.inference_mode():  # warm-up: first-call allocations and kernel selection
            vgg.model(batches[0][:2].to(device))

        def sync() -> None:
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        bare_rates, pipeline_rates = [], []
        for _ in range(max(1, args.repeats)):  # interleaved, so a burst of load elsewhere hits both alike
            sync()
            start = time.perf_counter()
            with torch.inference_mode():
                for batch in batches:
                    vgg.model(batch.to(device)).float().cpu()
            sync()
            bare_rates.append(len(tensors) / (time.perf_counter() - start))

            start = time.perf_counter()
            out = extract_features(vgg, paths, batch_size=bs, workers=workers, device=device, show_progress=False)
            pipeline_rates.append(len(out.ok) / (time.perf_counter() - start))
            assert out.features.shape == (len(paths), 4096) and not out.failures
        bare, pipeline = max(bare_rates), max(pipeline_rates)
        result["bare_forward_runs"] = [round(r, 3) for r in bare_rates]
        result["pipeline_runs"] = [round(r, 3) for r in pipeline_rates]
        del vgg, tensors, batches

        gist = Gist()
        extract_features(gist, paths[:2], workers=workers, show_progress=False)
        start = time.perf_counter()
        extract_features(gist, paths, batch_size=bs, workers=workers, show_progress=False)
        gist_rate = len(paths) / (time.perf_counter() - start)

        eff = EfficientNetLite0(device=device)
        extract_features(eff, paths[:2], workers=0, device=device, show_progress=False)
        start = time.perf_counter()
        extract_features(eff, paths, batch_size=bs, workers=workers, device=device, show_progress=False)
        eff_rate = len(paths) / (time.perf_counter() - start)

    result.update({
        "pipeline_images_per_s": round(pipeline, 3),
        "bare_forward_images_per_s": round(bare, 3),
        "ratio": round(pipeline / bare, 3),
        "gist_images_per_s": round(gist_rate, 3),
        "efficientnet_images_per_s": round(eff_rate, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_workers_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    })
    line = json.dumps(result, sort_keys=True)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
