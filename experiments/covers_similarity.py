"""Cover similarity by descriptor (after E. Bernhardsson, "Music recommendations using cover images").

    .venv/bin/python experiments/covers_similarity.py [--covers ../shared/data/covers] [--seed 0]

For every descriptor (16x16 grey pixels, GIST, EfficientNet-Lite0, VGG-19 fc7 when its weights are
present, and random vectors as the floor): the same-genre AUC of every cover as a query against all
the others (Euclidean on the raw descriptor, and on unit-length rows: cosine), with a bootstrap 95%
interval over queries and the mean per genre; then a FAISS HNSW index of the unit-length rows, its
recall@10 against exact search and both query latencies, saved as a lab artefact
(``graphrec covers similar IMAGE --index DIR`` reads it) and loaded back to check it answers the same.
Montages of a few queries go to the cache folder, never into the repo (the artwork is not ours).

Writes results/covers_similarity.{md,csv,json,png}. The write-up's finding under test: GIST clearly
beats raw pixels, and both beat random (AUC .5).
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
from graphrec.covers.montage import write_montage
from graphrec.covers.report import interval, plot_intervals, results_markdown
from graphrec.covers.similarity import CoverIndex, ann_recall, genre_auc, unit_rows
from graphrec.errors import MissingWeightsError
from graphrec.evaluate.metrics import bootstrap_ci
from graphrec.evaluate.report import markdown_table, run_metadata, write_csv
from graphrec.index import ExactIndex, FaissIndex
from graphrec.vision import get_featurizer

DESCRIPTORS = ("pixels16", "gist", "efficientnet_lite0", "vgg19_fc7")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cover_parser(__doc__, seed_help="random baseline, bootstrap and montage queries")
    p.add_argument("--descriptors", default=",".join(DESCRIPTORS), help="comma-separated featurizer names")
    p.add_argument("--k", type=int, default=10, help="recall@k of the ANN index (default 10)")
    p.add_argument("--latency-queries", type=int, default=1000, help="queries timed for latency (default 1000)")
    p.add_argument("--montages", type=int, default=3, help="montages of random queries per CNN/GIST descriptor")
    p.add_argument("--lab", type=Path, default=default_cache_dir() / "lab", help="where indexes and montages go")
    return p.parse_args(argv)


def _latency_ms(index: Any, queries: np.ndarray, k: int) -> float:
    index.search(queries[:8], k)  # warm-up
    start = time.perf_counter()
    for row in queries:  # one at a time, as `covers similar` asks
        index.search(row[None, :], k)
    return 1000.0 * (time.perf_counter() - start) / len(queries)


def evaluate(name: str, covers: Any, features: np.ndarray, args: argparse.Namespace, featurizer: Any) -> dict[str, Any]:
    labels = covers.labels
    row: dict[str, Any] = {"descriptor": name, "label": DESCRIPTOR_LABELS.get(name, name), "dim": int(features.shape[1]),
                           "covers": len(covers)}
    for metric in ("euclidean", "cosine"):
        auc = genre_auc(features, labels, metric=metric)
        mean, low, high = bootstrap_ci(auc[~np.isnan(auc)], seed=args.seed, n_resamples=1000)
        row[f"auc_{metric}"], row[f"auc_{metric}_low"], row[f"auc_{metric}_high"] = mean, low, high
        row[f"auc_{metric}_per_genre"] = {g: float(np.nanmean(auc[labels == i])) for i, g in enumerate(covers.genres)}
    if featurizer is None:  # the random baseline has no index
        return row
    vectors = unit_rows(features)
    start = time.perf_counter()
    hnsw = FaissIndex(vectors, kind="hnsw")
    row["hnsw_build_s"] = time.perf_counter() - start
    row[f"recall@{args.k}"] = ann_recall(hnsw, vectors, k=args.k)
    rng = np.random.default_rng(args.seed)
    timed = vectors[rng.choice(len(vectors), size=min(args.latency_queries, len(vectors)), replace=False)]
    row["hnsw_ms_per_query"] = _latency_ms(hnsw, timed, args.k)
    row["exact_ms_per_query"] = _latency_ms(ExactIndex(vectors), timed, args.k)
    row["speedup_vs_exact"] = row["exact_ms_per_query"] / row["hnsw_ms_per_query"]

    lab = CoverIndex(covers=covers, featurizer_name=featurizer.name, normalize=True, index=hnsw,
                     featurizer_info=featurizer.describe(), provenance=dict(covers.provenance))
    path = lab.save(args.lab / f"index-{name}")
    loaded = CoverIndex.load(path)
    probe = vectors[:200]
    row["index_dir"] = str(path)
    row["round_trip_same_answers"] = bool(all(np.array_equal(a, b) for a, b in zip(loaded.index.search(probe, 10), hnsw.search(probe, 10))))
    if name in ("gist", "efficientnet_lite0") and args.montages:
        for q in rng.choice(len(covers), size=args.montages, replace=False):
            found = [n for n in loaded.neighbours(features[q], 11)[0] if n.path != covers.paths[q]][:10]
            write_montage(covers.paths[q], [(n.path, f"{n.genre} {n.distance:.2f}") for n in found],
                          args.lab / "montages" / f"{name}-{q}.png", query_caption=f"query: {covers.genre_of(int(q))}")
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    covers = read_covers(args)
    rows, skipped, failures = [], {}, {}
    for name in [d.strip() for d in args.descriptors.split(",") if d.strip()]:
        try:
            featurizer = get_featurizer(name)
        except MissingWeightsError as exc:
            skipped[name] = str(exc)
            print(f"{name}: skipped ({exc})")
            continue
        t = time.perf_counter()
        kept, features, failed = describe_covers(covers, featurizer)
        failures[name] = failed
        row = evaluate(name, kept, features, args, featurizer)
        row["seconds"] = time.perf_counter() - t
        rows.append(row)
        print(f"{name}: AUC {row['auc_cosine']:.3f} (cosine), recall@{args.k} {row[f'recall@{args.k}']:.3f}, {row['seconds']:.0f} s")
    rng = np.random.default_rng(args.seed)
    random_features = rng.normal(size=(len(covers), 256)).astype(np.float32)
    rows.append(evaluate("random", covers, random_features, args, None))

    meta = run_metadata(
        experiment="covers_similarity", **data_fields(covers, args),
        unreadable={k: len(v) for k, v in failures.items()}, skipped_descriptors=skipped,
        seconds=round(time.perf_counter() - started, 1),
    )
    write(rows, meta, args)
    print(f"wrote {args.out / 'covers_similarity.md'} in {meta['seconds']:.0f} s")
    return 0


def write(rows: list[dict[str, Any]], meta: dict[str, Any], args: argparse.Namespace) -> None:
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    k = args.k
    table = []
    for r in rows:
        table.append({
            "descriptor": r["label"],
            "covers": r["covers"],
            "AUC, cosine [95% CI]": interval(r["auc_cosine"], r["auc_cosine_low"], r["auc_cosine_high"]),
            "AUC, Euclidean [95% CI]": interval(r["auc_euclidean"], r["auc_euclidean_low"], r["auc_euclidean_high"]),
            f"HNSW recall@{k}": f"{r[f'recall@{k}']:.3f}" if f"recall@{k}" in r else "—",
            "HNSW ms/query": f"{r['hnsw_ms_per_query']:.3f}" if "hnsw_ms_per_query" in r else "—",
            "exact ms/query": f"{r['exact_ms_per_query']:.3f}" if "exact_ms_per_query" in r else "—",
        })
    genres = list(rows[0]["auc_cosine_per_genre"])
    per_genre = [{"descriptor": r["label"], **{g: f"{r['auc_cosine_per_genre'][g]:.3f}" for g in genres}} for r in rows]
    by_name = {r["descriptor"]: r for r in rows}
    skipped = meta["skipped_descriptors"]
    finding = []
    if "gist" in by_name and "pixels16" in by_name:
        g, p = by_name["gist"], by_name["pixels16"]
        for metric in ("euclidean", "cosine"):
            ahead = g[f"auc_{metric}_low"] > p[f"auc_{metric}_high"]
            behind = g[f"auc_{metric}_high"] < p[f"auc_{metric}_low"]
            verdict = ("GIST is ahead, intervals apart" if ahead else "pixels are ahead, intervals apart" if behind
                       else "the intervals overlap: no difference shown")
            finding.append(f"{metric}: GIST {g[f'auc_{metric}']:.3f} vs pixels {p[f'auc_{metric}']:.3f} "
                           f"(difference {g[f'auc_{metric}'] - p[f'auc_{metric}']:+.3f}): {verdict}.")
    for r in rows:
        if r["descriptor"] != "random":
            above = all(r[f"auc_{m}_low"] > 0.5 for m in ("euclidean", "cosine"))
            finding.append(f"{r['label']} beats random (.5) under both metrics: {'yes' if above else 'no'}.")
    for name, reason in skipped.items():
        finding.append(f"Not measured: {name}: {reason.split(';')[0]}.")
    sections = [
        ("Same-genre AUC per descriptor, and the ANN index", markdown_table(table, list(table[0]))),
        ("Cosine AUC per genre (query's genre)", markdown_table(per_genre, ["descriptor", *genres])),
        ("The write-up's finding", "\n".join(f"- {line}" for line in finding)),
        ("How it is measured", (
            "Each cover is a query; every other cover is ranked by distance to it. AUC = the probability that a "
            "random cover of the query's genre is nearer than a random cover of another genre (ties count 1/2); "
            "the table gives the mean over queries with a bootstrap 95% interval over queries (1,000 resamples), which "
            "treats the queries as independent; they are not (every pair is ranked from both ends), so the intervals "
            "are narrower than the truth. "
            "Cosine = Euclidean on unit-length rows, the space the FAISS index holds. The HNSW index "
            f"(M = 32, efConstruction = 200, efSearch = 128) is compared with exact search on recall@{k} over every cover "
            "as a query (itself left out) and on latency, one query at a time. Covers filed under more than one "
            "genre are left out (no single right genre)."
        )),
    ]
    md = results_markdown("Cover similarity: same-genre AUC by descriptor (after Bernhardsson)", sections, meta)
    atomic_write_text(out / "covers_similarity.md", md)
    flat = [{k2: v for k2, v in r.items() if not isinstance(v, dict)} for r in rows]
    write_csv(out / "covers_similarity.csv", flat, meta)
    atomic_write_json(out / "covers_similarity.json", {"rows": rows, "meta": meta})
    bars = {f"{r['label']}, {metric}": (r[f"auc_{metric}"], r[f"auc_{metric}_low"], r[f"auc_{metric}_high"])
            for r in rows for metric in ("euclidean", "cosine")}
    plot_intervals(out / "covers_similarity.png", bars, meta, ylabel="same-genre AUC, 95% CI",
                   title=f"Cover similarity: same-genre AUC ({meta['covers']} covers, seed {meta['seed']})",
                   references={"random (.5)": 0.5}, ylim=(0.45, 0.6))


if __name__ == "__main__":
    raise SystemExit(main())
