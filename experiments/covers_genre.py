"""Genre from cover art (after N. O'Reilly, "Can you judge an album by its cover?").

    .venv/bin/python experiments/covers_genre.py [--covers ../shared/data/covers] [--seed 0] [--folds 5]

The write-up's three classifiers, each by stratified k-fold cross-validation (seeded):

* HSV colour histogram (8x8x8) + k-nearest-neighbours (k = 10, majority vote): 13% on 10 genres;
* the same histograms + gradient-boosted trees (LightGBM here, XGBoost there): 17%;
* CNN features (EfficientNet-Lite0) + a small head (256 ReLU units, dropout 0.5, softmax; torch): 33%;

plus two rows that separate the features from the classifier (CNN + kNN, GIST + MLP head). Accuracy with a
bootstrap 95% interval, against chance (1/6 here; and the largest genre's share) and against the write-up's
figures relative to its chance (1/10). Per-genre recall, one confusion matrix per classifier.

Writes results/covers_genre.{md,csv,json} and results/covers_genre.png (confusion matrices), then trains
each classifier on every cover and saves it as a lab artefact (``graphrec covers genre IMAGE --model DIR``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from _covers import cover_parser, data_fields, read_covers  # noqa: I001  (first: puts the checkout on sys.path)

from graphrec._io import atomic_write_json, atomic_write_text
from graphrec.covers import default_cache_dir, describe_covers
from graphrec.covers.descriptors import DESCRIPTOR_LABELS
from graphrec.covers.genre import GenreModel, cross_validate, make_classifier
from graphrec.covers.report import interval, plot_confusions, plot_intervals, results_markdown
from graphrec.evaluate.report import markdown_table, run_metadata, write_csv
from graphrec.vision import get_featurizer

WRITE_UP_CHANCE = 0.10  # O'Reilly: 10 genres
# (key, label, featurizer, classifier, write-up accuracy on 10 genres or None)
SETUPS = (
    ("hsv_knn", "HSV histogram + kNN (k = 10)", "hsv_hist", "knn", 0.13),
    ("hsv_boost", "HSV histogram + boosted trees (LightGBM)", "hsv_hist", "boost", 0.17),
    ("cnn_mlp", "CNN (EfficientNet-Lite0) + MLP head", "efficientnet_lite0", "mlp", 0.33),
    ("cnn_knn", "CNN (EfficientNet-Lite0) + kNN (k = 10)", "efficientnet_lite0", "knn", None),
    ("gist_mlp", "GIST + MLP head", "gist", "mlp", None),
)
MAIN = ("hsv_knn", "hsv_boost", "cnn_mlp")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cover_parser(__doc__, seed_help="fold shuffling, training and bootstrap seed")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--setups", default=",".join(k for k, *_ in SETUPS), help="comma-separated rows to run")
    p.add_argument("--no-save", action="store_true", help="do not train and save the final models")
    p.add_argument("--lab", type=Path, default=default_cache_dir() / "lab", help="where the trained models go")
    return p.parse_args(argv)


def _params(classifier: str, seed: int) -> dict[str, Any]:
    return {} if classifier == "knn" else {"seed": seed}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    covers = read_covers(args)
    wanted = [s.strip() for s in args.setups.split(",") if s.strip()]
    features: dict[str, tuple[Any, np.ndarray, list]] = {}
    rows, confusions, saved = [], {}, {}
    for key, label, featurizer_name, classifier, write_up in SETUPS:
        if key not in wanted:
            continue
        if featurizer_name not in features:
            features[featurizer_name] = describe_covers(covers, get_featurizer(featurizer_name))
        kept, x, _ = features[featurizer_name]
        t = time.perf_counter()
        result = cross_validate(lambda: make_classifier(classifier, **_params(classifier, args.seed)), x, kept.labels,
                                kept.genres, folds=args.folds, seed=args.seed)
        acc, low, high = result.accuracy_interval(seed=args.seed)
        chance = 1.0 / len(kept.genres)
        row = {
            "setup": key, "label": label, "featurizer": featurizer_name, "classifier": classifier,
            "params": make_classifier(classifier, **_params(classifier, args.seed)).params(),
            "covers": len(kept), "accuracy": acc, "low": low, "high": high, "fold_accuracy": result.fold_accuracy,
            "chance": chance, "majority_share": result.chance, "lift_over_chance": acc / chance,
            "write_up_accuracy": write_up, "write_up_lift": None if write_up is None else write_up / WRITE_UP_CHANCE,
            "beats_chance": low > max(chance, result.chance),
            "recall": result.recall(), "confusion": result.confusion().tolist(), "cv_seconds": time.perf_counter() - t,
        }
        rows.append(row)
        confusions[label] = result.confusion()
        print(f"{key}: accuracy {interval(acc, low, high)} ({acc / chance:.2f}x chance), {row['cv_seconds']:.0f} s")
        if not args.no_save:
            model = make_classifier(classifier, **_params(classifier, args.seed)).fit(x, kept.labels)
            featurizer = get_featurizer(featurizer_name)
            lab = GenreModel(classifier=model, featurizer_name=featurizer.name, genres=kept.genres,
                             featurizer_info=featurizer.describe(), provenance=dict(covers.provenance, trained_on=len(kept)))
            saved[key] = str(lab.save(args.lab / f"genre-{key}"))
    meta = run_metadata(
        experiment="covers_genre", folds=args.folds, **data_fields(covers, args),
        unreadable={k: len(v[2]) for k, v in features.items()}, saved_models=saved,
        seconds=round(time.perf_counter() - started, 1),
    )
    write(rows, confusions, covers.genres, meta, args.out)
    print(f"wrote {args.out / 'covers_genre.md'} in {meta['seconds']:.0f} s")
    return 0


def write(rows: list[dict[str, Any]], confusions: dict[str, np.ndarray], genres: tuple[str, ...], meta: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    table = []
    for r in rows:
        table.append({
            "classifier": r["label"],
            "accuracy [95% CI]": interval(r["accuracy"], r["low"], r["high"]),
            "× chance (1/6)": f"{r['lift_over_chance']:.2f}",
            "interval excludes chance": "yes" if r["beats_chance"] else "NO",
            "write-up (10 genres)": "—" if r["write_up_accuracy"] is None else f"{r['write_up_accuracy']:.2f}",
            "write-up × chance (1/10)": "—" if r["write_up_lift"] is None else f"{r['write_up_lift']:.1f}",
        })
    recall = [{"classifier": r["label"], **{g: f"{r['recall'][g]:.3f}" for g in genres}} for r in rows]
    folds = [{"classifier": r["label"], **{f"fold {i + 1}": f"{a:.3f}" for i, a in enumerate(r["fold_accuracy"])}} for r in rows]
    majority = max(r["majority_share"] for r in rows) if rows else float("nan")
    sections = [
        (f"Accuracy, {meta['folds']}-fold stratified cross-validation", markdown_table(table, list(table[0])) + (
            f"\n\nChance is 1/{len(genres)} = {1 / len(genres):.3f}; always answering the largest genre scores {majority:.3f}. "
            "\"Interval excludes chance\" asks that the interval's low end clear both. The write-up's figures are "
            "on 10 genres (chance .10): compare the × chance columns, not the raw accuracies.")),
        ("Recall per genre (share of each genre's covers predicted as it)", markdown_table(recall, ["classifier", *genres])),
        ("Accuracy per fold", markdown_table(folds, list(folds[0]))),
        ("Setups", "\n".join(f"- **{r['label']}**: featurizer `{r['featurizer']}` ({DESCRIPTOR_LABELS.get(r['featurizer'], '')}), "
                             f"classifier `{r['classifier']}` {r['params']}" for r in rows)),
    ]
    md = results_markdown("Genre from cover art (after O'Reilly)", sections, meta, intro=(
        "Out-of-fold predictions of every cover; the interval is a percentile bootstrap over covers (2,000 resamples). "
        "Covers filed under more than one genre are left out (no single right answer)."))
    atomic_write_text(out / "covers_genre.md", md)
    write_csv(out / "covers_genre.csv", [{k: v for k, v in r.items() if k not in ("confusion",)} for r in rows], meta)
    atomic_write_json(out / "covers_genre.json", {"rows": rows, "meta": meta, "genres": list(genres)})
    main_panels = {label: m for label, m in confusions.items() if any(r["label"] == label and r["setup"] in MAIN for r in rows)}
    plot_confusions(out / "covers_genre.png", main_panels or confusions, genres, meta)
    bars = {r["label"]: (r["accuracy"], r["low"], r["high"]) for r in rows}
    plot_intervals(out / "covers_genre_accuracy.png", bars, meta, ylabel="accuracy, 95% CI",
                   title=f"Genre from cover art ({meta['covers']} covers, {meta['folds']}-fold CV, seed {meta['seed']})",
                   references={"chance (1/6)": 1 / len(genres), "largest genre": majority}, ylim=(0.0, 0.6))


if __name__ == "__main__":
    raise SystemExit(main())
