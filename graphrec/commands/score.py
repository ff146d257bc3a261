"""`graphrec score FOLDER --out results.jsonl`: top-k songs for every image in a folder, resumable."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from graphrec.commands._engine import add_engine_flags, engine_from_args
from graphrec.commands._types import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "score",
        help="recommend songs for every image in a folder (resumable batch job)",
        description="Write one row per image (top-k songs, scores, and the images and keywords behind each) "
        "to --out; unreadable files go to <out>.errors.jsonl. Re-running the same command after an "
        "interruption scores only the images still missing.",
    )
    p.add_argument("folder", type=Path, metavar="FOLDER")
    p.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("--out", type=Path, required=True, help="output file (.jsonl or .csv)")
    p.add_argument("--format", choices=("jsonl", "csv"), help="output format (default: from --out's suffix)")
    p.add_argument("--errors", type=Path, help="errors file (default: <out>.errors.jsonl)")
    p.add_argument("--recursive", action="store_true", help="also score images in sub-folders")
    p.add_argument("-k", "--k", type=positive_int, default=None, help="songs per image (default: the model's, 10 unless built otherwise)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="images per featurizer call (default 32)")
    p.add_argument("--workers", type=positive_int, help="image decoding workers (default: one less than the CPUs, at most 8)")
    p.add_argument("--max-pixels", type=positive_int, help="skip images with more pixels than this")
    add_engine_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.api import load
    from graphrec.batch import score_folder

    engine = engine_from_args(args)
    model = load(args.model)
    summary = score_folder(
        model,
        args.folder,
        args.out,
        format=args.format,
        errors_out=args.errors,
        recursive=args.recursive,
        k=args.k,
        batch_size=args.batch_size,
        workers=args.workers,
        max_pixels=args.max_pixels,
        show_progress=False if args.no_progress else None,
        engine=engine,
    )
    failed = f"{summary.failed} failed (see {summary.errors})" if summary.failed else "0 failed"
    print(
        f"scored {summary.scored} images, skipped {summary.skipped_done} already done, {failed} "
        f"in {summary.seconds:.1f} s ({summary.images_per_s:.1f} images/s) -> {summary.out}",
        file=sys.stderr,
    )
    print(json.dumps(summary.to_dict()))
    return 0
