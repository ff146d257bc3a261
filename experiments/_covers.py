"""What the three cover experiments share: their common options, reading the covers, and the data part of their metadata."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from _common import ROOT  # noqa: I001

from graphrec.covers import CoverSet, read_cover_folder

DEFAULT_COVERS = ROOT.parent / "shared" / "data" / "covers"


def cover_parser(doc: str | None, *, seed_help: str) -> argparse.ArgumentParser:
    """A parser with the options every cover experiment takes; the script adds its own."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--covers", type=Path, default=DEFAULT_COVERS, help="folder of <genre>/<covers> (default ../shared/data/covers)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--per-genre", type=int, help="at most this many covers per genre (a quick run)")
    p.add_argument("--keep-duplicates", action="store_true", help="keep identical covers filed under several genres")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch threads for the CNN (default 1: with one decode worker that fills 2 cores; "
                        "on the shared 2-core machine 2 threads ran at less than half the speed)")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    return p


def read_covers(args: argparse.Namespace) -> CoverSet:
    """Apply ``--torch-threads`` and read ``--covers`` as the options say."""
    import torch

    torch.set_num_threads(args.torch_threads)
    return read_cover_folder(args.covers, duplicates="keep" if args.keep_duplicates else "drop",
                             per_genre=args.per_genre, seed=args.seed)


def data_fields(covers: CoverSet, args: argparse.Namespace) -> dict[str, Any]:
    """The seed and the data, for run_metadata."""
    prov = covers.provenance
    return {
        "seed": args.seed, "data": str(args.covers), "files": prov["files"], "covers": len(covers),
        "per_genre_counts": covers.counts(), "duplicates": prov["duplicates"],
        "ambiguous_files_dropped": prov["ambiguous_files_dropped"], "repeats_dropped": prov["repeats_dropped"],
        "per_genre": args.per_genre,
    }
