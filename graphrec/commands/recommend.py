"""`graphrec recommend IMAGE...`: top-k songs for each image, with reasons."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from graphrec.commands._types import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("recommend", help="recommend songs for one or more images")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    p.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("-k", "--k", type=positive_int, default=None, help="number of songs (default: the model's, 10 unless built otherwise)")
    p.add_argument("--json", action="store_true", help="print one JSON object per image")
    p.set_defaults(func=run)


TITLE_WIDTH = 24  # Yuan qu titles often carry a whole first line; the song id names it exactly


def _short(text: str, width: int = TITLE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_text(image: Path, recs) -> str:
    lines = [f"{image}  (featurizer: {recs.featurizer})"]
    for rank, item in enumerate(recs.items, 1):
        artist = f" — {item.artist}" if item.artist else ""
        lines.append(f"{rank:2d}. {_short(item.title)}{artist}  [{item.song_id}]  score {item.score:.3f}")
        first = item.first_lines.replace("\n", " / ")
        if first:
            lines.append(f"      {first}")
        lines.append(f"      why: {item.reason}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from graphrec.api import load
    from graphrec.errors import GraphrecError

    model = load(args.model)
    failed = 0
    for image in args.images:
        try:
            recs = model.recommend(image, k=args.k)
        except (GraphrecError, FileNotFoundError) as exc:
            # One bad image does not stop the others.
            print(f"graphrec recommend: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"image": str(image), **recs.to_dict()}, ensure_ascii=False))
        else:
            print(format_text(image, recs))
            print()
    return 1 if failed else 0
