"""Genre from image tags (after A. Passant, "SpotiTags").

    .venv/bin/python experiments/covers_tags.py [--covers ../shared/data/covers] [--seed 0]

Every cover is tagged offline with EfficientNet-Lite0's ImageNet labels (standing in for the write-up's web
tagging service) and keeps its top-k tags with their scores. Per genre: the top tags by summed score, and the
*distinctive* tags (in the genre's top-100, in no other genre's top-100). Then genre classifiers on the bag of
tags restricted to each genre's top-n tags, or to its top-n distinctive tags (vocabulary chosen on the training
folds only; multinomial logistic regression), for several n, on every pair of genres, every triple and all six
(stratified k-fold cross-validation, seeded).

Writes results/covers_tags.{md,csv,json,png}. The write-up's finding under test: distinctive tags classify
better than top tags as genres are added.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import numpy as np
from _covers import cover_parser, data_fields, read_covers  # noqa: I001  (first: puts the checkout on sys.path)

from graphrec._io import atomic_write_json, atomic_write_text
from graphrec.covers.genre import cross_validate
from graphrec.covers.report import interval, results_markdown
from graphrec.covers.tags import (
    ImageNetTagger,
    TagGenre,
    bag_of_tags,
    distinctive_tags,
    genre_tag_totals,
    tag_covers,
    tag_vocabulary,
    top_tags,
)
from graphrec.evaluate.report import markdown_table, plot_lines, run_metadata, write_csv


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = cover_parser(__doc__, seed_help="fold shuffling and bootstrap seed")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--tags-per-cover", type=int, default=5, help="top-k tags each cover keeps (default 5)")
    p.add_argument("--pool", type=int, default=100, help="distinctive = in a genre's top-POOL and no other's (default 100)")
    p.add_argument("--ns", default="5,10,20,40", help="vocabulary sizes n per genre (default 5,10,20,40)")
    p.add_argument("--genre-counts", default="2,3,6", help="classify among every subset of this many genres (default 2,3,6)")
    p.add_argument("--show", type=int, default=10, help="tags per genre in the tables (default 10)")
    return p.parse_args(argv)


def tag_tables(
    bag: np.ndarray, labels: np.ndarray, genres: tuple[str, ...], names: list[str], show: int, pool: int
) -> tuple[list, list, dict]:
    totals = genre_tag_totals(bag, labels, len(genres))
    top = top_tags(totals, show)
    distinctive = distinctive_tags(totals, pool)
    top_rows, distinctive_rows = [], []
    for g, genre in enumerate(genres):
        top_rows.append({"genre": genre, f"top {show} tags (summed score)": ", ".join(f"{names[t]} ({totals[g, t]:.1f})" for t in top[g])})
        shown = distinctive[g][:show]
        distinctive_rows.append({"genre": genre, "distinctive tags": len(distinctive[g]),
                                 f"first {show} distinctive (summed score)": ", ".join(f"{names[t]} ({totals[g, t]:.1f})" for t in shown)})
    detail = {genre: {"top": [names[t] for t in top_tags(totals, pool)[g]], "distinctive": [names[t] for t in distinctive[g]]}
              for g, genre in enumerate(genres)}
    return top_rows, distinctive_rows, detail


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    covers = read_covers(args)
    tagger = ImageNetTagger()
    kept, scores, failures = tag_covers(covers, tagger)
    bag = bag_of_tags(scores, args.tags_per_cover)
    names = list(tagger.labels)
    top_rows, distinctive_rows, detail = tag_tables(bag, kept.labels, kept.genres, names, args.show, args.pool)
    print(f"tagged {len(kept)} covers ({len(failures)} unreadable) in {time.perf_counter() - started:.0f} s")

    ns = [int(n) for n in args.ns.split(",")]
    counts = [int(c) for c in args.genre_counts.split(",")]
    runs = []
    for count in counts:
        for subset in itertools.combinations(kept.genres, count):
            part = kept.select_genres(list(subset))
            rows = np.flatnonzero(np.isin(kept.labels, [kept.genres.index(g) for g in subset]))
            x = bag[rows]
            for n in ns:
                for vocabulary in ("top", "distinctive"):
                    result = cross_validate(lambda: TagGenre(n=n, vocabulary=vocabulary, pool=args.pool, seed=args.seed),
                                            x, part.labels, part.genres, folds=args.folds, seed=args.seed, show_progress=False)
                    acc, low, high = result.accuracy_interval(seed=args.seed, n_resamples=1000)
                    # how many covers carry any tag of the vocabulary (chosen here on all of them): what a bag can say
                    vocab = tag_vocabulary(x, part.labels, count, n, vocabulary, args.pool)
                    runs.append({"genres": count, "subset": "+".join(subset), "n": n, "vocabulary": vocabulary,
                                 "vocabulary_size": len(vocab), "coverage": float((x[:, vocab] > 0).any(axis=1).mean()),
                                 "accuracy": acc, "low": low, "high": high, "chance": 1 / count, "majority_share": result.chance,
                                 "covers": len(part)})
        print(f"{count} genres done, {time.perf_counter() - started:.0f} s")
    summary = summarise(runs, counts, ns)
    meta = run_metadata(
        experiment="covers_tags", folds=args.folds, **data_fields(covers, args), tagged=len(kept), unreadable=len(failures),
        tagger=tagger.name, tags_per_cover=args.tags_per_cover, pool=args.pool,
        classifier="multinomial logistic regression (C = 1) on the tag scores", seconds=round(time.perf_counter() - started, 1),
    )
    write(runs, summary, top_rows, distinctive_rows, detail, counts, ns, meta, args)
    print(f"wrote {args.out / 'covers_tags.md'} in {meta['seconds']:.0f} s")
    return 0


def summarise(runs: list[dict[str, Any]], counts: list[int], ns: list[int]) -> list[dict[str, Any]]:
    out = []
    for count in counts:
        for n in ns:
            top = [r for r in runs if r["genres"] == count and r["n"] == n and r["vocabulary"] == "top"]
            dis = [r for r in runs if r["genres"] == count and r["n"] == n and r["vocabulary"] == "distinctive"]
            wins = sum(d["accuracy"] > t["accuracy"] for t, d in zip(top, dis))
            out.append({"genres": count, "n": n, "subsets": len(top), "chance": 1 / count,
                        "top": float(np.mean([r["accuracy"] for r in top])), "distinctive": float(np.mean([r["accuracy"] for r in dis])),
                        "distinctive_minus_top": float(np.mean([d["accuracy"] - t["accuracy"] for t, d in zip(top, dis)])),
                        "distinctive_wins": wins})
    return out


def write(runs, summary, top_rows, distinctive_rows, detail, counts, ns, meta, args) -> None:  # type: ignore[no-untyped-def]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = [{"genres": s["genres"], "n per genre": s["n"], "subsets": s["subsets"], "chance": f"{s['chance']:.3f}",
              "top tags": f"{s['top']:.3f}", "distinctive tags": f"{s['distinctive']:.3f}",
              "distinctive − top": f"{s['distinctive_minus_top']:+.3f}",
              "distinctive better in": f"{s['distinctive_wins']}/{s['subsets']}"}
             for s in summary]
    six = [r for r in runs if r["genres"] == max(counts)]
    six_table = [{"n per genre": r["n"], "vocabulary": r["vocabulary"], "tags in it": r["vocabulary_size"],
                  "covers with one of them": f"{r['coverage']:.1%}",
                  "accuracy [95% CI]": interval(r["accuracy"], r["low"], r["high"]),
                  "× chance": f"{r['accuracy'] / r['chance']:.2f}",
                  "above 1/6": "yes" if r["low"] > r["chance"] else "NO",
                  "above the largest genre": "yes" if r["low"] > r["majority_share"] else "NO"}
                 for r in six]
    finding = []
    for count in counts:
        rows = [s for s in summary if s["genres"] == count]
        diffs = ", ".join(f"n={s['n']}: {s['distinctive_minus_top']:+.3f}" for s in rows)
        finding.append(f"{count} genres: distinctive − top, mean accuracy over subsets: {diffs}.")
    sections = [
        ("Top tags per genre (all covers)", markdown_table(top_rows, list(top_rows[0]))),
        (f"Distinctive tags per genre (in its top-{args.pool}, in no other genre's top-{args.pool})",
         markdown_table(distinctive_rows, list(distinctive_rows[0]))),
        (f"Classifying by top vs distinctive tags (mean accuracy over every subset of that many genres, {meta['folds']}-fold CV)",
         markdown_table(table, list(table[0]))),
        (f"All {max(counts)} genres, with intervals", markdown_table(six_table, list(six_table[0])) + (
            f"\n\nThe columns \"above\" ask whether the interval's low end clears chance (1/{max(counts)}) and the share of "
            f"the largest genre ({max(r['majority_share'] for r in six):.3f}, what always answering it scores). "
            "Vocabulary size and coverage are for the vocabulary chosen on all covers.")),
        ("The write-up's finding", "\n".join(f"- {line}" for line in finding)),
        ("How it is measured", (
            f"Each cover keeps its {args.tags_per_cover} best ImageNet labels with their softmax scores (its bag of tags). "
            "For n, the vocabulary is the union over the genres in play of each genre's n tags with the highest summed "
            "score (\"top\") or of its n first distinctive tags (\"distinctive\"), chosen on the training folds only; "
            "a multinomial logistic regression reads the bag's scores on that vocabulary. Intervals: bootstrap over covers "
            "(1,000 resamples). The tables of tags above use all covers."
        )),
    ]
    md = results_markdown("Genre from image tags: top vs distinctive tags (after Passant, SpotiTags)", sections, meta)
    atomic_write_text(out / "covers_tags.md", md)
    write_csv(out / "covers_tags.csv", runs, meta)
    atomic_write_json(out / "covers_tags.json", {"runs": runs, "summary": summary, "tags": detail, "meta": meta})
    series = {}
    for count in counts:
        for vocabulary in ("top", "distinctive"):
            rows = [s for s in summary if s["genres"] == count]
            series[f"{count} genres, {vocabulary}"] = ([s["n"] for s in rows], [s[vocabulary] for s in rows])
    plot_lines(out / "covers_tags.png", series, meta, xlabel="tags per genre in the vocabulary (n)",
               ylabel="accuracy (mean over genre subsets)",
               title=f"Genre from ImageNet tags of covers: top vs distinctive ({meta['tagged']} covers, seed {meta['seed']})",
               xticklabels=[str(n) for n in ns])


if __name__ == "__main__":
    raise SystemExit(main())
