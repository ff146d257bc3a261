"""`graphrec build`: build a model from songs and keyword-labelled images."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from graphrec.commands._engine import add_engine_flags, engine_from_args
from graphrec.commands._types import non_negative_int, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build",
        help="build a model from songs and keyword-labelled images",
        description="Build a model (keywords -> graph -> LINE -> image index). Without --songs/--images it uses "
        "the data shipped in data/ (classical Chinese songs, real weather photos, emoji drawings as fallback).",
    )
    p.add_argument("--songs", type=Path, help="songs: .csv/.jsonl(.gz) with id,title,artist,lyrics[,popularity] (default: shipped corpus)")
    p.add_argument("--images", type=Path, help="image manifest (.csv/.jsonl), folder of <keyword>/<image>, or with --class-table "
                   "a folder of <source>/<class>/<image> (default: the shipped photos)")
    p.add_argument("--class-table", type=Path, help="CSV source,class,keywords,weights,reason that labels the <source>/<class>/ "
                   "folders of --images (the shipped table's format: graphrec/data/resources/photo_classes.csv)")
    p.add_argument("--fallback-images", type=Path, help="images that stand in only for words no --images image covers "
                   "(default: the shipped emoji when --images is not given, else none)")
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
    p.add_argument("--first-stage", choices=["images", "classifier", "both"], default=None,
                   help="what a query photo is matched by: the nearest dataset images, the classifier bridge, or both (default)")
    p.add_argument("--rank", choices=["graph", "paper"], default=None,
                   help="second stage: graph (default: score every song, spread over the evidence) or paper (2 nearest songs per image)")
    p.add_argument("--index", choices=["auto", "exact", "hnsw", "ivfpq"], default=None,
                   help="first stage's image index: exact search, FAISS HNSW or IVF-PQ (default auto: by the number of images)")
    p.add_argument("--no-classifier-bridge", action="store_true", help="leave the featurizer's classes out of the graph")
    p.add_argument("--graphml", type=Path, help="also write the graph as GraphML here")
    add_engine_flags(p)
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
    from graphrec.data.class_tables import load_class_table
    from graphrec.data.images import ImageSet, load_default_images, load_emoji_images, read_images, read_photo_classes
    from graphrec.errors import InputError
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
    rec_changes: dict[str, Any] = {}
    if args.first_stage is not None:
        rec_changes["first_stage"] = args.first_stage
    if args.index is not None:
        rec_changes["index"] = args.index
    if args.rank is not None:
        rec_changes["rank"] = args.rank
        if args.rank == "paper":
            rec_changes.setdefault("first_stage", "images")
    top: dict[str, Any] = {"featurizer": args.featurizer} if args.featurizer else {}
    if args.no_classifier_bridge:
        top["classifier_bridge"] = False
    base = BuildConfig()
    config = dataclasses.replace(
        base,
        keywords=dataclasses.replace(base.keywords, **kw_changes),
        line=dataclasses.replace(base.line, **line_changes),
        recommend=dataclasses.replace(base.recommend, **rec_changes),
        **top,
    )
    engine = engine_from_args(args)
    out = check_destination(args.out or default_model_path())  # a folder that cannot be used fails now, not after the build
    start = time.perf_counter()
    songs = read_songs(args.songs) if args.songs else load_default_songs()
    if args.class_table is not None:
        if args.images is None:
            raise InputError("--class-table labels the <source>/<class>/ folders of --images; give --images FOLDER too.")
        images = read_photo_classes(args.images, classes=load_class_table(args.class_table))
    else:
        images = read_images(args.images) if args.images else load_default_images()
    fallback: ImageSet | None
    if args.fallback_images is not None:
        fallback = read_images(args.fallback_images)
    else:
        fallback = load_emoji_images() if args.images is None else None
    model = Recommender.build(songs, images, config, fallback_images=fallback, show_progress=None if not args.no_progress else False,
                              feature_engine=engine)
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

