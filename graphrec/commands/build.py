"""`graphrec build`: build a model from songs and keyword-labelled images."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from graphrec.commands._types import non_negative_int, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build",
        help="build a model from songs and keyword-labelled images",
        description="Build a model (keywords -> graph -> LINE -> image index). Without --songs/--images it uses "
        "the data shipped in data/ (classical Chinese songs and emoji drawings).",
    )
    p.add_argument("--songs", type=Path, help="songs: .csv/.jsonl(.gz) with id,title,artist,lyrics[,popularity] (default: shipped corpus)")
    p.add_argument("--images", type=Path, help="image manifest (.csv/.jsonl) or folder of <keyword>/<image> (default: shipped emoji)")
    p.add_argument("--out", type=Path, help="model directory to write (default: the default model path)")
    p.add_argument("--featurizer", default=None, help="efficientnet_lite0 (default), vgg19_fc7, gist, hsv_hist, pixels16, or a+b / a:0.5+b")
    p.add_argument("--vocabulary", type=Path, help="a file of keywords, one per line, instead of selecting the K most frequent")
    p.add_argument("--keywords", type=positive_int, dest="k_keywords", default=None, help="vocabulary size K (default 72)")
    p.add_argument("--keyword-method", choices=["tfidf", "textrank", "count"], default=None)
    p.add_argument("--order", choices=["1", "2", "both"], default=None, help="LINE proximity order (default both)")
    p.add_argument("--dim", type=positive_int, default=None, help="LINE dimensions per order (default 128)")
    p.add_argument("--samples", type=positive_int, default=None, help="LINE edge samples per order")
    p.add_argument("--threads", type=non_negative_int, default=None, help="LINE threads (default: all cores)")
    p.add_argument("--seed", type=non_negative_int, default=None)
    p.add_argument("--graphml", type=Path, help="also write the graph as GraphML here")
    p.set_defaults(func=run)


def _read_vocabulary(path: Path) -> tuple[str, ...]:
    from graphrec.errors import InputError, describe_path

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"vocabulary file {describe_path(path)} does not exist; give a file with one keyword per line.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"vocabulary file {describe_path(path)} is not UTF-8 ({exc}); save it as UTF-8.") from None
    words = tuple(dict.fromkeys(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")))
    if not words:
        raise InputError(f"vocabulary file {describe_path(path)} lists no keywords; put one keyword per line.")
    return words


def run(args: argparse.Namespace) -> int:
    from graphrec.api import default_model_path
    from graphrec.config import BuildConfig
    from graphrec.data.images import load_default_images, read_images
    from graphrec.data.songs import load_default_songs, read_songs
    from graphrec.model_io import check_destination
    from graphrec.recommender import Recommender

    kw_changes: dict[str, Any] = {}
    if args.vocabulary is not None:
        kw_changes["vocabulary"] = _read_vocabulary(args.vocabulary)
    if args.k_keywords is not None:
        kw_changes["k"] = args.k_keywords
    if args.keyword_method is not None:
        kw_changes["method"] = args.keyword_method
    line_changes: dict[str, Any] = {}
    if args.order is not None:
        line_changes["order"] = "both" if args.order == "both" else int(args.order)
    for name in ("dim", "samples", "threads", "seed"):
        if getattr(args, name) is not None:
            line_changes[name] = getattr(args, name)
    base = BuildConfig()
    config = dataclasses.replace(
        base,
        keywords=dataclasses.replace(base.keywords, **kw_changes),
        line=dataclasses.replace(base.line, **line_changes),
        **({"featurizer": args.featurizer} if args.featurizer else {}),
    )
    out = check_destination(args.out or default_model_path())  # a folder that cannot be used fails now, not after the build
    start = time.perf_counter()
    songs = read_songs(args.songs) if args.songs else load_default_songs()
    images = read_images(args.images) if args.images else load_default_images()
    model = Recommender.build(songs, images, config, show_progress=None if not args.no_progress else False)
    model.save(out)
    if args.graphml and model.graph_ is not None:
        model.graph_.write_graphml(args.graphml)
    prov = model.provenance
    summary = {
        "model": str(out),
        "featurizer": model.featurizer_name,
        "songs_read": prov.get("songs_read"),
        "songs_kept": prov.get("songs_kept"),
        "songs_dropped": prov.get("songs_dropped"),
        "images": len(model.images_),
        "images_failed": len(prov.get("images_failed", [])),
        "keywords": len(model.vocabulary_),
        "seconds": round(time.perf_counter() - start, 1),
        "timings": {k: round(v, 1) for k, v in prov.get("timings", {}).items()},
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0

