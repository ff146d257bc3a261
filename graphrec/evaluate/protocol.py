"""The paper's hit-rate protocol.

Images are split into train and test (seeded); the model is built on the training images only, so
a test image never enters the graph. For a test image with keywords K, the ground truth is K plus
the top-n related words of each keyword (from a :class:`~graphrec.evaluate.related.RelatedWords`
source). A recommended song is a hit when its words meet the ground truth: its vocabulary keywords
(the paper's setting, variant ``"keywords"``), only its three strongest keywords (``"top3"``,
stricter, since a 72-word vocabulary of common imagery puts several keywords in most songs), or
every informative token of its lyrics (``"lyrics"``, more lenient). hit-rate@k is the share of test images with at least one hit in their
top k. Our recommender and the KM, POP and random baselines are scored in the same run on the same
test images, ground truths and song words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec._log import get_logger, progress
from graphrec.errors import InputError
from graphrec.evaluate.baselines import keyword_match, popular, random_songs
from graphrec.evaluate.metrics import hit_matrix, hit_rate
from graphrec.evaluate.related import MemoRelated, RelatedWords, check_n

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.images import ImageSet
    from graphrec.recommender import Recommender

log = get_logger(__name__)

PAPER_NS: tuple[int, ...] = (5, 10, 50, 100)
PAPER_KS: tuple[int, ...] = (1, 5, 10)
PAPER_K = 10  # the cut-off of the paper's hit-rate and precision tables
METHODS: tuple[str, ...] = ("ours", "KM", "POP", "random")
VARIANTS: tuple[str, ...] = ("keywords", "top3", "lyrics")
VARIANT_LABELS = {
    "keywords": "song keywords (all of the song's vocabulary keywords; the paper's setting)",
    "top3": "the song's 3 strongest keywords (stricter: common imagery words are in most songs)",
    "lyrics": "all lyric tokens (lenient)",
}


@dataclass(frozen=True)
class Split:
    """Disjoint train and test image sets, each in the input's order."""

    train: ImageSet
    test: ImageSet
    seed: int
    test_fraction: float

    def describe(self) -> dict[str, Any]:
        return {"train": len(self.train), "test": len(self.test), "seed": self.seed, "test_fraction": self.test_fraction}


def split_images(images: ImageSet, *, test_fraction: float = 0.2, seed: int = 0, max_test: int | None = None) -> Split:
    """Shuffle with ``seed`` and hold out ``test_fraction`` of the images (at most ``max_test``) for testing."""
    from graphrec.data.images import ImageSet

    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}.")
    n = len(images)
    n_test = int(round(n * test_fraction))
    if max_test is not None:
        n_test = min(n_test, int(max_test))
    if n_test < 1 or n_test >= n:
        raise InputError(
            f"splitting {n} images with test_fraction={test_fraction} leaves {n_test} test and {n - n_test} train "
            "images; both need at least one: give more images or another test_fraction."
        )
    order = np.random.default_rng(seed).permutation(n)
    test_rows = set(order[:n_test].tolist())
    records = list(images)
    provenance = dict(images.provenance)
    train = ImageSet([r for i, r in enumerate(records) if i not in test_rows], {**provenance, "split": "train", "seed": seed})
    test = ImageSet([r for i, r in enumerate(records) if i in test_rows], {**provenance, "split": "test", "seed": seed})
    return Split(train=train, test=test, seed=seed, test_fraction=test_fraction)


def kfold_splits(images: ImageSet, folds: int, *, seed: int = 0) -> list[Split]:
    """``folds`` seeded splits whose test sets partition the images, so every image is tested exactly once."""
    from graphrec.data.images import ImageSet

    if not isinstance(folds, int) or folds < 2 or folds > len(images):
        raise InputError(f"folds must be an integer from 2 to the number of images ({len(images)}), got {folds!r}.")
    order = np.random.default_rng(seed).permutation(len(images))
    records = list(images)
    splits = []
    for fold in range(folds):
        test_rows = set(order[fold::folds].tolist())
        train = ImageSet([r for i, r in enumerate(records) if i not in test_rows], {**images.provenance, "split": "train", "fold": fold})
        test = ImageSet([r for i, r in enumerate(records) if i in test_rows], {**images.provenance, "split": "test", "fold": fold})
        splits.append(Split(train=train, test=test, seed=seed, test_fraction=len(test) / len(records)))
    return splits


def pool_reports(reports: Sequence[HitRateReport]) -> HitRateReport:
    """One report from several folds: hits and queries summed per (method, variant, n, k)."""
    if not reports:
        raise InputError("no reports to pool.")
    pooled: dict[tuple[str, str, int, int], dict[str, Any]] = {}
    for report in reports:
        for row in report.rows:
            key = (row["method"], row["variant"], row["n"], row["k"])
            entry = pooled.setdefault(key, {**row, "hits": 0, "queries": 0})
            entry["hits"] += row["hits"]
            entry["queries"] += row["queries"]
    for entry in pooled.values():
        entry["hit_rate"] = entry["hits"] / entry["queries"] if entry["queries"] else float("nan")
    total = sum(r.queries for r in reports)
    sizes = {
        n: sum(r.truth_sizes.get(n, 0.0) * r.queries for r in reports) / total if total else float("nan")
        for n in reports[0].truth_sizes
    }
    rankings: dict[str, list[list[str]]] = {}
    for report in reports:
        for method, ranked in report.rankings.items():
            rankings.setdefault(method, []).extend(ranked)
    return HitRateReport(rows=list(pooled.values()), backend=reports[0].backend, queries=total, truth_sizes=sizes, rankings=rankings)


def ground_truth(keywords: Sequence[str], related: RelatedWords, n: int) -> frozenset[str]:
    """K plus the top-``n`` related words of each keyword in K."""
    n = check_n(n)
    truth = set(keywords)
    for word in keywords:
        truth.update(other for other, _ in related.top_n(word, n))
    return frozenset(truth)


@dataclass
class HitRateReport:
    """One run's hit-rates: ``rows`` of method, variant, n, k, hit_rate, hits, queries; plus what made them."""

    rows: list[dict[str, Any]]
    backend: dict[str, Any]
    queries: int
    truth_sizes: dict[int, float] = field(default_factory=dict)  # mean ground-truth size per n
    rankings: dict[str, list[list[str]]] = field(default_factory=dict)  # method -> song ids per test image

    def value(self, method: str, n: int, k: int, variant: str = "keywords") -> float:
        for row in self.rows:
            if (row["method"], row["n"], row["k"], row["variant"]) == (method, n, k, variant):
                return float(row["hit_rate"])
        raise KeyError(f"no hit-rate for method={method!r}, n={n}, k={k}, variant={variant!r} in this report")


def evaluate_rankings(
    rankings: Mapping[str, Sequence[Sequence[str]]],
    test_keywords: Sequence[Sequence[str]],
    related: RelatedWords,
    song_words: Mapping[str, Callable[[str], AbstractSet[str]]],
    *,
    ns: Sequence[int] = PAPER_NS,
    ks: Sequence[int] = PAPER_KS,
    show_progress: bool | None = None,
) -> HitRateReport:
    """Hit-rates of ready-made rankings (method -> one list of song ids per test image).

    ``song_words`` maps a variant name (``"keywords"``, ``"lyrics"``) to a function giving a song's words.
    """
    n_queries = len(test_keywords)
    for method, ranked in rankings.items():
        if len(ranked) != n_queries:
            raise InputError(f"method {method!r} ranked {len(ranked)} lists for {n_queries} test images; give one per image.")
    memo = related if isinstance(related, MemoRelated) else MemoRelated(related)
    rows: list[dict[str, Any]] = []
    truth_sizes: dict[int, float] = {}
    for n in progress(list(ns), show_progress=show_progress, desc="hit-rate per n"):
        truths = [ground_truth(keywords, memo, n) for keywords in test_keywords]
        truth_sizes[n] = float(np.mean([len(t) for t in truths])) if truths else float("nan")
        for variant, words_of in song_words.items():
            for method, ranked in rankings.items():
                hits = hit_matrix(ranked, words_of, truths)
                for k in ks:
                    rate = hit_rate(hits, k) if hits.shape[1] else 0.0
                    rows.append(
                        {
                            "method": method,
                            "variant": variant,
                            "n": int(n),
                            "k": int(k),
                            "hit_rate": rate,
                            "hits": int(hits[:, :k].any(axis=1).sum()),
                            "queries": n_queries,
                        }
                    )
    return HitRateReport(rows=rows, backend=memo.describe(), queries=n_queries, truth_sizes=truth_sizes)


def rank_methods(
    model: Recommender,
    test_features: np.ndarray,
    *,
    k: int | None = None,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
) -> dict[str, list[list[str]]]:
    """Top-``k`` song ids (default: the model's ``RecommendConfig.k``) per test image for each method, all from
    the same model (its training images and songs)."""
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise InputError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS)}.")
    n_queries = len(test_features)
    k = model.config.recommend.k if k is None else k
    ids = np.asarray(model.song_ids_, dtype=object)

    def to_ids(rows: np.ndarray) -> list[list[str]]:
        return [[str(ids[r]) for r in row if r >= 0] for row in rows]

    out: dict[str, list[list[str]]] = {}
    for method in methods:
        if method == "ours":
            out[method] = [[str(s) for s in rec.song_ids] for rec in model.recommend_features(test_features, k)]
        elif method == "KM":
            out[method] = to_ids(
                # KM's first stage searches the same space as ours (RecommendConfig.feature_norm).
                keyword_match(
                    model.prepare_features(model.image_features_), model.image_keywords_, model.song_keywords_,
                    model.prepare_features(test_features), k, k_images=model.config.recommend.k_images,
                )
            )
        elif method == "POP":
            out[method] = to_ids(popular(model.popularity_, n_queries, k))
        elif method == "random":
            out[method] = to_ids(random_songs(len(ids), n_queries, k, seed=seed))
    return out


def song_word_functions(model: Recommender, variants: Sequence[str] = VARIANTS) -> dict[str, Callable[[str], AbstractSet[str]]]:
    """Per variant, a memoised function song id -> its words (vocabulary keywords, top 3 of them, or lyric tokens)."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise InputError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}.")
    cache: dict[tuple[str, str], frozenset[str]] = {}

    def keywords_of(song_id: str) -> frozenset[str]:
        key = ("keywords", song_id)
        if key not in cache:
            cache[key] = frozenset(model.song_keyword_list(song_id))
        return cache[key]

    def top3_of(song_id: str) -> frozenset[str]:
        key = ("top3", song_id)
        if key not in cache:
            cache[key] = frozenset(model.song_keyword_list(song_id)[:3])  # strongest first
        return cache[key]

    def lyrics_of(song_id: str) -> frozenset[str]:
        from graphrec.text.keywords import tokenize

        key = ("lyrics", song_id)
        if key not in cache:
            cache[key] = frozenset(tokenize(model.song(song_id).lyrics))
        return cache[key]

    table = {"keywords": keywords_of, "top3": top3_of, "lyrics": lyrics_of}
    return {v: table[v] for v in variants}


def evaluate_hit_rate(
    model: Recommender,
    test_images: ImageSet,
    test_features: np.ndarray,
    related: RelatedWords,
    *,
    ns: Sequence[int] = PAPER_NS,
    ks: Sequence[int] = PAPER_KS,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    variants: Sequence[str] = VARIANTS,
    show_progress: bool | None = None,
) -> HitRateReport:
    """Score our recommender and the baselines on held-out images (one feature row per test image, in order).

    ``model`` must have been built without the test images. The ground truth of a test image comes
    from its keywords as given in ``test_images``.
    """
    if len(test_features) != len(test_images):
        raise InputError(
            f"{len(test_features)} feature rows for {len(test_images)} test images; give one row per image, in order."
        )
    overlap = set(model.image_ids_) & {r.id for r in test_images}
    if overlap:
        raise InputError(
            f"{len(overlap)} test image(s) (e.g. {sorted(overlap)[0]!r}) are also in the model's graph; "
            "build the model on the training split only."
        )
    k = max(ks)
    rankings = rank_methods(model, test_features, k=k, seed=seed, methods=methods)
    report = evaluate_rankings(
        rankings,
        [r.keywords for r in test_images],
        related,
        song_word_functions(model, variants),
        ns=ns,
        ks=ks,
        show_progress=show_progress,
    )
    log.info("hit-rate: %d test images, %d methods, backend %s", len(test_images), len(rankings), report.backend.get("name"))
    report.rankings = rankings
    return report
