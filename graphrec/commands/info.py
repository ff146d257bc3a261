"""`graphrec info [MODEL]`: what a saved model contains and how it was built."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="describe a saved model")
    p.add_argument("model", nargs="?", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    p.add_argument("--vocabulary", action="store_true",
                   help="print every keyword with the songs, images and classifier classes that carry it (markdown)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.api import default_model_path
    from graphrec.model_io import read_manifest

    path = args.model or default_model_path()
    if args.vocabulary:
        from graphrec.api import load
        from graphrec.coverage import coverage_markdown

        print(coverage_markdown(load(path)), end="")
        return 0
    manifest = read_manifest(path)
    if args.json:
        print(json.dumps(manifest, ensure_ascii=False, indent=2))
        return 0
    counts = manifest.get("counts", {})
    feat = manifest.get("featurizer", {})
    line = manifest.get("config", {}).get("line", {})
    prov = manifest.get("provenance", {})
    print(f"model:       {path}")
    print(f"format:      v{manifest['format_version']} (graphrec {manifest.get('graphrec_version')}, {manifest.get('created')})")
    print(f"songs:       {counts.get('songs')} kept of {prov.get('songs_read')} read ({prov.get('songs_dropped')} without a vocabulary keyword)")
    print(f"images:      {counts.get('images')}")
    print(f"keywords:    {counts.get('keywords')}")
    if counts.get("classes"):
        bridge = prov.get("classifier_bridge") or {}
        print(f"classifier:  {counts.get('classes')} of {bridge.get('classes')} {bridge.get('classifier')} classes tied to keywords (the classifier bridge)")
    print(f"featurizer:  {feat.get('name')} ({feat.get('dim')}-d)")
    samples = line.get("samples") or prov.get("line", {}).get("samples_per_order")
    print(f"LINE:        order {line.get('order')}, dim {line.get('dim')}, samples {samples} per order, seed {line.get('seed')}")
    return 0
