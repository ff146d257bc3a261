"""Reproduce the paper's hit-rate table (Hsia et al., RecSys 2018) on the shipped data, with ablations.

    python experiments/hit_rate.py                       # default run: < 15 min on 2 cores
    python experiments/hit_rate.py --ablate order dim    # plus LINE ablations
    python experiments/hit_rate.py --related conceptnet-lite --conceptnet-db ~/conceptnet.db

Protocol (graphrec.evaluate.protocol): the images whose keywords reach the song vocabulary are
split train/test (seeded); the model is built on the training images only; for each test image the
ground truth is its keywords plus the top-n related words of each (Cilin by default); a song is a
hit when its keywords (or, in the second variant, any lyric token) meet the truth. Ours, KM, POP
and random are scored on the same test images in the same run.

Writes results/hit_rate.{csv,md,json}, results/hit_rate_vs_n.png (+ _top3, _lyrics), and for each
ablation results/ablation_<name>.{csv,md,png}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import ROOT, cached_features, data_description, default_cache_dir, load_data  # noqa: I001

from graphrec._io import atomic_write_json, atomic_write_text
from graphrec._log import progress
from graphrec.evaluate.protocol import (
    METHODS,
    PAPER_K,
    PAPER_KS,
    PAPER_NS,
    VARIANTS,
    evaluate_hit_rate,
    kfold_splits,
    pool_reports,
    split_images,
)
from graphrec.evaluate.related import MemoRelated, get_related
from graphrec.evaluate.report import (
    hit_rate_markdown,
    markdown_table,
    plot_hit_rate_vs_n,
    plot_lines,
    run_metadata,
    write_csv,
)

ABLATIONS = ("order", "dim", "samples", "featurizer", "feature_norm")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "results", help="output folder (default results/)")
    p.add_argument("--name", default="hit_rate", help="stem of the main result files (default hit_rate)")
    p.add_argument("--songs", help="song corpus file (default: the shipped classical corpus)")
    p.add_argument("--images", help="image manifest or folder (default: the shipped emoji drawings)")
    p.add_argument("--featurizer", help="image featurizer spec (default: BuildConfig's, efficientnet_lite0)")
    p.add_argument("--related", default="cilin", choices=["cilin", "conceptnet-lite", "conceptnet-web"],
                   help="related-words backend for the ground truth (default cilin, offline)")
    p.add_argument("--conceptnet-db", help="conceptnet-lite database path (for --related conceptnet-lite)")
    p.add_argument("--conceptnet-url", default="https://api.conceptnet.io", help="web API base URL (for --related conceptnet-web)")
    p.add_argument("--language", default="zh", help="ConceptNet language code of the keywords (default zh)")
    p.add_argument("--truth-keywords", choices=["vocabulary", "original"], default="vocabulary",
                   help="K for the ground truth: the test image's keywords mapped onto the song vocabulary (default, "
                   "as the paper's images were found by vocabulary keyword) or all its original labels")
    p.add_argument("--ns", type=_ints, default=list(PAPER_NS), help="related words per keyword, comma-separated (default 5,10,50,100)")
    p.add_argument("--ks", type=_ints, default=list(PAPER_KS), help="cut-offs, comma-separated (default 1,5,10)")
    p.add_argument("--test-fraction", type=float, default=0.2, help="share of the vocabulary-labelled images held out (default 0.2)")
    p.add_argument("--max-test", type=int, help="at most this many test images (single split only)")
    p.add_argument("--folds", type=int, default=1,
                   help="k-fold cross-validation: every vocabulary-labelled image is tested once, one model per fold "
                   "(default 1 = a single split with --test-fraction)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, LINE and the random baseline (default 0)")
    p.add_argument("--threads", type=int, default=0, help="LINE threads (default: all cores)")
    p.add_argument("--samples", type=int, help="LINE edge samples per order (default: LINE's default for the graph)")
    p.add_argument("--dim", type=int, help="LINE dimensions per order (default 128)")
    p.add_argument("--order", choices=["1", "2", "both"], help="LINE order (default both)")
    p.add_argument("--ablate", nargs="*", default=[], choices=ABLATIONS, help="ablations to run after the main table")
    p.add_argument("--orders", default="1,2,both", help="values for --ablate order")
    p.add_argument("--dims", type=_ints, default=[16, 64, 128], help="values for --ablate dim")
    p.add_argument("--samples-values", type=_ints, help="values for --ablate samples (default: 1/10, 1/3 and 1x LINE's default)")
    p.add_argument("--featurizers", default="efficientnet_lite0,gist,hsv_hist,pixels16", help="values for --ablate featurizer")
    p.add_argument("--feature-norms", default="l2,none", help="values for --ablate feature_norm (none = the paper's raw Euclidean)")
    p.add_argument("--cache-dir", type=Path, default=default_cache_dir(), help="feature cache (default $GRAPHREC_CACHE/experiments)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    photos = p.add_argument_group("real photos (--photos): precision@k and hit-rate@k of songs judged on lyric text")
    photos.add_argument("--photos", type=Path, help="a folder of <source>/<class>/ photos labelled by the class table "
                        "(e.g. ../shared/data/photos): run the real-photo evaluation instead of the emoji hit-rate table")
    photos.add_argument("--validate", action="store_true", help="score a held-out part of the training photos instead of "
                        "the test photos (for tuning; the test photos stay untouched)")
    photos.add_argument("--recommend", help="RecommendConfig changes for every variant of ours, as JSON, e.g. '{\"min_share\": 0.2}'")
    photos.add_argument("--sweep", help="a JSON list of RecommendConfig changes to score ours under, e.g. "
                        "'[{\"variety\": 0}, {\"variety\": 0.1}]' (writes photos_sweep.md)")
    photos.add_argument("--image-side", choices=["split", "shipped"], default="split",
                        help="dataset images in the graph: the training part of --photos (default) or only the photos "
                        "shipped in data/ (the default model's situation: most test subjects have no dataset image)")
    photos.add_argument("--truth-n", type=int, default=5, help="Cilin related words added per class word (default 5)")
    photos.add_argument("-k", type=int, default=PAPER_K, help=f"songs per photo (default {PAPER_K}, the paper's cut-off)")
    return p.parse_args(argv)


def related_source(args: argparse.Namespace):
    if args.related == "conceptnet-lite":
        return get_related("conceptnet-lite", db_path=args.conceptnet_db, language=args.language)
    if args.related == "conceptnet-web":
        return get_related("conceptnet-web", base_url=args.conceptnet_url, language=args.language)
    return get_related("cilin")


class Experiment:
    """Data, split and features prepared once; `run(config)` builds one model and scores it."""

    def __init__(self, args: argparse.Namespace) -> None:
        from graphrec import stages
        from graphrec.config import BuildConfig
        from graphrec.data.images import ImageSet
        from graphrec.embed.line import LineConfig

        self.args = args
        self.show = False if args.no_progress else None
        self.timings: dict[str, float] = {}
        start = time.perf_counter()
        self.songs, images = load_data(args.songs, args.images)
        self.data = data_description(self.songs, images, args.songs, args.images)
        line_changes: dict[str, Any] = {"seed": args.seed, "threads": args.threads}
        if args.samples is not None:
            line_changes["samples"] = args.samples
        if args.dim is not None:
            line_changes["dim"] = args.dim
        if args.order is not None:
            line_changes["order"] = "both" if args.order == "both" else int(args.order)
        self.base_config = BuildConfig(
            line=dataclasses.replace(LineConfig(), **line_changes), **({"featurizer": args.featurizer} if args.featurizer else {})
        )
        # The vocabulary depends on the songs only: find it first, so the split draws test images
        # among those that can have a vocabulary ground truth at all.
        # Every fold and ablation builds on the same songs and keyword settings: extract them once.
        self.keywords = stages.select_keywords(self.songs, self.base_config.keywords, show_progress=self.show)
        self.vocabulary = self.keywords.vocabulary
        mapped, self.map_stats = stages.map_images(images, self.vocabulary)
        self.mapped_by_id = {r.id: r for r in mapped}
        # Images without a vocabulary keyword never reach the graph (the build drops them), so they
        # are neither featurised nor split.
        self.images = ImageSet([r for r in images if r.id in self.mapped_by_id], dict(images.provenance))
        if args.folds > 1:
            splits = kfold_splits(mapped, args.folds, seed=args.seed)
        else:
            splits = [split_images(mapped, test_fraction=args.test_fraction, seed=args.seed, max_test=args.max_test)]
        # Per fold: training images keep their original labels (the build maps them, as in a normal
        # build); test images keep both their vocabulary-mapped and their original labels.
        self.folds = []
        for split in splits:
            test_ids = {r.id for r in split.test}
            self.folds.append(
                {
                    "train": ImageSet([r for r in self.images if r.id not in test_ids], {**images.provenance, "split": "train"}),
                    "test_mapped": split.test,
                    "test_original": ImageSet([r for r in self.images if r.id in test_ids], {**images.provenance, "split": "test"}),
                }
            )
        self.split = {
            "folds": len(splits),
            "train_per_fold": [len(f["train"]) for f in self.folds],
            "test_per_fold": [len(f["test_mapped"]) for f in self.folds],
            "test_fraction": args.test_fraction if len(splits) == 1 else None,
            "seed": args.seed,
            "mappable_images": len(mapped),
        }
        self.timings["prepare_s"] = time.perf_counter() - start
        self.related = MemoRelated(related_source(args))
        self.features: dict[str, tuple[Any, np.ndarray, np.ndarray, dict]] = {}

    def featurized(self, spec: str):
        """(featurizer, features of every image, readable mask, cache info), computed once per spec."""
        if spec not in self.features:
            from graphrec.vision import get_featurizer

            featurizer = get_featurizer(spec)
            start = time.perf_counter()
            feats, ok, info = cached_features(featurizer, self.images, self.args.cache_dir, show_progress=self.show)
            self.timings[f"features_{spec}_s"] = time.perf_counter() - start
            self.features[spec] = (featurizer, feats, ok, info)
        return self.features[spec]

    def run(self, config, methods=METHODS, variants=VARIANTS):
        """Build one model per fold (on its training images only), score it on the fold's test images, pool."""
        from graphrec.data.images import ImageSet
        from graphrec.recommender import Recommender

        featurizer, feats, ok, _ = self.featurized(config.featurizer)
        row_of = {r.id: i for i, r in enumerate(self.images)}
        reports, times = [], {"build_s": 0.0, "evaluate_s": 0.0}
        model = None
        for fold in progress(self.folds, show_progress=self.show if len(self.folds) > 1 else False, desc="folds"):
            train = ImageSet([r for r in fold["train"] if ok[row_of[r.id]]], fold["train"].provenance)
            start = time.perf_counter()
            model = Recommender.build(
                self.songs, train, dataclasses.replace(config, featurizer=featurizer.name), featurizer=featurizer,
                keywords=self.keywords if config.keywords == self.base_config.keywords else None,
                image_features=feats[[row_of[r.id] for r in train]], show_progress=self.show,
            )
            times["build_s"] += time.perf_counter() - start
            source = fold["test_mapped"] if self.args.truth_keywords == "vocabulary" else fold["test_original"]
            test = ImageSet([r for r in source if ok[row_of[r.id]]], source.provenance)
            start = time.perf_counter()
            reports.append(
                evaluate_hit_rate(
                    model, test, feats[[row_of[r.id] for r in test]], self.related,
                    ns=self.args.ns, ks=self.args.ks, seed=self.args.seed, methods=methods, variants=variants,
                    show_progress=self.show,
                )
            )
            times["evaluate_s"] += time.perf_counter() - start
        report = reports[0] if len(reports) == 1 else pool_reports(reports)
        return model, report, times


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.photos is not None:
        from _photos import run_photos

        return run_photos(args)
    t0 = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"preparing data and split (seed {args.seed}) ...", flush=True)
    exp = Experiment(args)
    print(f"  {exp.split}; related words: {exp.related.name}", flush=True)
    model, report, times = exp.run(exp.base_config)
    exp.timings.update(times)
    meta = run_metadata(
        seed=args.seed,
        data=exp.data,
        featurizer=model.featurizer_name,
        related_backend=report.backend,
        truth_keywords=args.truth_keywords,
        split=exp.split,
        test_queries=report.queries,
        vocabulary_size=len(model.vocabulary_),
        line=dataclasses.asdict(model.config.line),
        graph={k: model.provenance.get("graph", {}).get(k) for k in ("nodes", "edges", "song_keyword_edges", "image_keyword_edges")},
        line_samples_per_s=model.provenance.get("line", {}).get("samples_per_s"),
        recommend=dataclasses.asdict(model.config.recommend),
    )
    rows = report.rows
    write_csv(out / f"{args.name}.csv", rows, {k: meta[k] for k in ("seed", "featurizer", "git_commit")}
              | {"related_backend": report.backend.get("name"), "data": f"{exp.data['songs_count']} songs, {exp.data['images_count']} images"})
    write_rankings(out / f"{args.name}_rankings.csv", exp, model, report)
    md = hit_rate_markdown(rows, meta, ns=args.ns, ks=args.ks, methods=METHODS, variants=VARIANTS,
                           title=f"Hit-rate on held-out images ({report.queries} test images, {len(exp.folds)} fold(s))")
    sizes = ", ".join(f"n={n}: {s:.1f}" for n, s in report.truth_sizes.items())
    md += f"\nMean ground-truth size per test image: {sizes}.\n"
    plots = [plot_hit_rate_vs_n(out / f"{args.name}_vs_n.png", rows, meta, ns=args.ns, methods=METHODS, variant="keywords")]
    for variant in VARIANTS[1:]:
        plots.append(plot_hit_rate_vs_n(out / f"{args.name}_vs_n_{variant}.png", rows, meta, ns=args.ns, methods=METHODS,
                                        variant=variant, with_paper=False))
    for name in args.ablate:
        print(f"ablation: {name} ...", flush=True)
        ab_rows, ab_md, ab_plot = run_ablation(exp, name, meta)
        write_csv(out / f"ablation_{name}.csv", ab_rows, {k: meta[k] for k in ("seed", "git_commit")}
                  | {"related_backend": report.backend.get("name")})
        atomic_write_text(out / f"ablation_{name}.md", ab_md)
        plots.append(plot_lines(out / f"ablation_{name}.png", ab_plot, meta, xlabel="n", ylabel="hit-rate@10 (ours)",
                                title=f"ablation: {name}", log_x=True,
                                xticklabels=[str(n) for n in args.ns]))
    exp.timings["total_s"] = time.perf_counter() - t0
    meta["timings_s"] = {k: round(v, 1) for k, v in exp.timings.items()}
    meta["truth_sizes"] = report.truth_sizes
    meta["image_mapping"] = {k: exp.map_stats[k] for k in ("images_in", "images_mapped", "images_dropped")}
    md += f"\nRun time: {exp.timings['total_s']:.0f} s (timings: {json.dumps(meta['timings_s'])}).\n"
    atomic_write_text(out / f"{args.name}.md", md)
    atomic_write_json(out / f"{args.name}.json", {"meta": meta, "rows": rows, "plots": [str(p.name) for p in plots]})
    print(md)
    print(f"wrote {out / args.name}.csv, .md, .json, " + ", ".join(p.name for p in plots))
    return 0


def write_rankings(path: Path, exp: Experiment, model, report) -> None:
    """Every method's top-k per test image with the songs' keywords, to see why a method hits or misses.

    With several folds the song keywords come from the last fold's model (the vocabulary is the same).
    """
    source = [r for fold in exp.folds for r in (fold["test_mapped"] if exp.args.truth_keywords == "vocabulary" else fold["test_original"])]
    _, _, ok, _ = exp.featurized(exp.base_config.featurizer)
    row_of = {r.id: i for i, r in enumerate(exp.images)}
    by_id = {r.id: r for r in source}
    test_ids = [r.id for r in source if ok[row_of[r.id]]]  # the images that were scored, in scoring order
    rows = []
    for method, ranked in report.rankings.items():
        for image_id, songs in zip(test_ids, ranked):
            for rank, song_id in enumerate(songs, start=1):
                try:
                    words = "|".join(model.song_keyword_list(song_id))
                except KeyError:
                    words = ""
                rows.append({"image": image_id, "image_keywords": "|".join(by_id[image_id].keywords), "method": method,
                             "rank": rank, "song_id": song_id, "song_keywords": words})
    write_csv(path, rows, {"seed": exp.args.seed})


def run_ablation(exp: Experiment, name: str, meta: dict[str, Any]):
    args = exp.args
    base = exp.base_config
    if name == "order":
        values: list[Any] = ["both" if v == "both" else int(v) for v in args.orders.split(",")]
        configs = [dataclasses.replace(base, line=dataclasses.replace(base.line, order=v)) for v in values]
    elif name == "dim":
        values = list(args.dims)
        configs = [dataclasses.replace(base, line=dataclasses.replace(base.line, dim=v)) for v in values]
    elif name == "samples":
        values = list(args.samples_values or [])
        if not values:
            from graphrec.embed.line import default_samples

            full = default_samples(2 * int(meta["graph"]["edges"]))
            values = [full // 10, full // 3, full]
        configs = [dataclasses.replace(base, line=dataclasses.replace(base.line, samples=int(v))) for v in values]
    elif name == "feature_norm":
        values = [v.strip() for v in args.feature_norms.split(",") if v.strip()]
        configs = [dataclasses.replace(base, recommend=dataclasses.replace(base.recommend, feature_norm=v)) for v in values]
    else:
        values = [v.strip() for v in args.featurizers.split(",") if v.strip()]
        configs = [dataclasses.replace(base, featurizer=v) for v in values]
    rows: list[dict[str, Any]] = []
    series: dict[str, tuple[list[int], list[float]]] = {}
    # The first-stage ablations change what KM sees too, so KM is scored beside ours for them.
    methods = ("ours", "KM") if name in ("featurizer", "feature_norm") else ("ours",)
    for value, config in progress(list(zip(values, configs)), show_progress=exp.show, desc=f"ablation {name}"):
        _, report, times = exp.run(config, methods=methods, variants=("keywords",))
        for row in report.rows:
            rows.append({"ablation": name, "value": str(value), **row, "build_s": round(times["build_s"], 1)})
        for method in methods:
            label = f"{method}, {name}={value}"
            series[label] = (list(args.ns), [report.value(method, n, 10) for n in args.ns])
    at10 = [r for r in rows if r["k"] == 10]
    table = []
    for value in values:
        for method in methods:
            entry: dict[str, Any] = {name: str(value), "method": method}
            for n in args.ns:
                entry[f"n={n}"] = next(r["hit_rate"] for r in at10 if r["value"] == str(value) and r["method"] == method and r["n"] == n)
            table.append(entry)
    md = f"# Ablation: {name} (hit-rate@10, song keywords)\n\n" + markdown_table(table, [name, "method", *[f"n={n}" for n in args.ns]])
    md += "\n\n" + "\n".join(f"- **{k}**: {v}" for k, v in meta.items() if k in ("git_commit", "seed", "related_backend", "data", "featurizer")) + "\n"
    return rows, md, series


if __name__ == "__main__":
    raise SystemExit(main())
