"""`graphrec covers ...`: the album-cover lab (cover similarity, genre from cover art, image tags).

Options left out are left to the library, so every default lives once, in graphrec.covers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from graphrec.commands._types import non_negative_int, positive_int


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def _folder_command(sub: argparse._SubParsersAction, name: str, summary: str, out_help: str, descriptor_help: str) -> argparse.ArgumentParser:
    """A sub-command that reads a folder of covers and writes a directory."""
    q = sub.add_parser(name, help=summary)
    q.add_argument("folder", type=Path, metavar="FOLDER", help="a folder of <genre>/<image files>")
    q.add_argument("--out", type=Path, required=True, help=out_help)
    q.add_argument("--descriptor", help=descriptor_help)
    q.add_argument("--keep-duplicates", action="store_true", help="keep identical files filed under several genres")
    return q


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "covers",
        help="the album-cover lab: similar covers, genre from cover art, image tags",
        description="Album covers in a folder of <genre>/<images>: index them and find similar covers, train a "
        "genre classifier on them, or tag images with ImageNet labels. Features are cached by file content in "
        "$GRAPHREC_CACHE/covers.",
    )
    sub = p.add_subparsers(dest="covers_command", metavar="SUBCOMMAND", required=True)

    q = _folder_command(sub, "index", "index a folder of <genre>/<covers> for `covers similar`", "index directory to write",
                        "featurizer: gist (default), pixels16, efficientnet_lite0, vgg19_fc7, hsv_hist")
    q.add_argument("--kind", choices=("hnsw", "flat"), help="FAISS index: hnsw (approximate, default) or flat (exact)")
    q.add_argument("--raw", action="store_true", help="index raw descriptors instead of unit-length ones")
    q.set_defaults(func=run_index)

    q = sub.add_parser("similar", help="the covers most similar to an image, with their genre")
    q.add_argument("image", type=Path, metavar="IMAGE")
    q.add_argument("--index", type=Path, required=True, help="directory written by `graphrec covers index`")
    q.add_argument("-k", "--k", type=positive_int, default=10, help="how many covers (default 10)")
    q.add_argument("--montage", type=Path, help="also write a PNG of the image and its neighbours here")
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(func=run_similar)

    q = _folder_command(sub, "train", "train a genre classifier on a folder of <genre>/<covers>", "model directory to write",
                        "featurizer (default: efficientnet_lite0 for mlp, hsv_hist otherwise)")
    q.add_argument("--classifier", choices=("mlp", "knn", "boost"), help="mlp on CNN features (default), knn or boost on HSV histograms")
    q.add_argument("--seed", type=non_negative_int, help="seed of boost and mlp training (default 0)")
    q.set_defaults(func=run_train)

    q = sub.add_parser("genre", help="genre probabilities of images from a trained model")
    q.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    q.add_argument("--model", type=Path, required=True, help="directory written by `graphrec covers train`")
    q.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    q.set_defaults(func=run_genre)

    q = sub.add_parser("tags", help="ImageNet tags of images (EfficientNet-Lite0, offline)")
    q.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    q.add_argument("-k", "--k", type=positive_int, default=5, help="tags per image (default 5)")
    q.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    q.set_defaults(func=run_tags)


def _read(args: argparse.Namespace) -> Any:
    from graphrec.covers import read_cover_folder

    return read_cover_folder(args.folder, duplicates="keep" if args.keep_duplicates else "drop", show_progress=_progress(args))


def run_index(args: argparse.Namespace) -> int:
    from graphrec.covers.similarity import build_cover_index

    covers = _read(args)
    index = build_cover_index(covers, **_given(featurizer=args.descriptor, kind=args.kind), normalize=not args.raw,
                              show_progress=_progress(args))
    index.save(args.out)
    failed = len(index.provenance.get("failures", []))
    print(f"indexed {len(index.covers)} covers ({failed} unreadable skipped) with {index.featurizer_name} -> {args.out}")
    return 0


def run_similar(args: argparse.Namespace) -> int:
    from graphrec.covers.similarity import CoverIndex

    index = CoverIndex.load(args.index)
    found = index.similar([args.image], args.k)[0]
    if args.montage:
        from graphrec.covers.montage import write_montage

        write_montage(args.image, [(n.path, f"{n.genre} {n.distance:.3f}") for n in found], args.montage)
    if args.json:
        print(json.dumps({"image": str(args.image), "descriptor": index.featurizer_name,
                          "neighbours": [{"path": n.path, "genre": n.genre, "distance": n.distance} for n in found]}))
        return 0
    for rank, n in enumerate(found, 1):
        print(f"{rank:>3}  {n.genre:<12} {n.distance:8.4f}  {n.path}")
    if args.montage:
        print(f"montage -> {args.montage}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from graphrec.covers.genre import train_genre_model

    covers = _read(args)
    kwargs = _given(classifier=args.classifier, featurizer=args.descriptor)
    params = _given(seed=args.seed) if (args.classifier or "mlp") != "knn" else {}
    model = train_genre_model(covers, **kwargs, params=params, show_progress=_progress(args))
    model.save(args.out)
    print(f"trained {model.classifier.name} on {model.provenance['trained_on']} covers of {len(model.genres)} genres "
          f"({', '.join(model.genres)}) with {model.featurizer_name} -> {args.out}")
    return 0


def run_genre(args: argparse.Namespace) -> int:
    from graphrec.covers.genre import GenreModel

    model = GenreModel.load(args.model)
    proba = model.predict_proba([str(p) for p in args.images])
    for path, row in zip(args.images, proba):
        ranked = sorted(zip(model.genres, row.tolist()), key=lambda gp: -gp[1])
        if args.json:
            print(json.dumps({"image": str(path), "probabilities": dict(ranked)}))
        else:
            print(f"{path}: " + ", ".join(f"{g} {p:.3f}" for g, p in ranked))
    return 0


def run_tags(args: argparse.Namespace) -> int:
    from graphrec.covers.tags import ImageNetTagger, top_k

    tagger = ImageNetTagger()
    for path, tags in zip(args.images, top_k(tagger.score_images([str(p) for p in args.images]), tagger.labels, args.k)):
        if args.json:
            print(json.dumps({"image": str(path), "tags": [{"tag": t, "score": s} for t, s in tags]}))
        else:
            print(f"{path}: " + ", ".join(f"{t} {s:.3f}" for t, s in tags))
    return 0
