"""Evaluation on real photos: does a song's lyric text sing of what the photo shows?

Protocol (issue 11):

* **Split**: the labelled photos are split per class (``source/class``), seeded; test photos never
  enter the graph. Photos whose class row names no keyword cannot be judged and are counted apart.
* **Truth**: a test photo's words are its class row's keywords (what the photo visibly shows, in the
  words lyrics use; ``graphrec/data/resources/photo_classes.csv``) plus the top-``n`` related words
  of each (Cilin by default).
* **Relevance**: a song is relevant when its lyric text (stage directions left out) or its title,
  unless the title is a tune name, contains a truth word. This is judged on the text alone,
  independent of the model's own keyword extraction.
* **Metrics**: precision@k (share of the k places holding a relevant song; empty places count as
  misses), hit-rate@k (share of photos with at least one relevant song), each with a 95% bootstrap
  interval over photos, and the chance rate (the share of relevant songs in the corpus, per photo).
* **Baselines**, on the same photos: POP (the most popular songs), random, random songs of the same
  lengths as ours (length-matched, to tell relevance from length), KM (the nearest training photos'
  keywords matched to lyric text) and TAGGER (the classifier's own labels, through the class table,
  matched to lyric text).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song
from graphrec.errors import InputError
from graphrec.evaluate.metrics import bootstrap_ci
from graphrec.evaluate.related_base import RelatedWords
from graphrec.text.frequency import strip_stage_directions

__all__ = [
    "LyricJudge",
    "PhotoReport",
    "class_of",
    "keyword_match_text",
    "length_matched_random",
    "score_rankings",
    "song_spread",
    "split_by_class",
    "truth_words",
]


def class_of(record: ImageRecord) -> str:
    """``source/class`` of a photo read by :func:`graphrec.data.images.read_photo_classes`."""
    extra = dict(record.extra)
    if "class" not in extra:
        raise InputError(f"image {record.id!r} has no class; read photos with graphrec.data.images.read_photo_classes.")
    return f"{extra.get('source', '')}/{extra['class']}"


def split_by_class(photos: ImageSet, *, test_fraction: float = 0.2, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """A seeded split that holds out ``test_fraction`` of every class (at least one photo of a class of two or more)."""
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), got {test_fraction!r}.")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(photos):
        by_class[class_of(record)].append(i)
    rng = np.random.default_rng(seed)
    test: set[int] = set()
    for name in sorted(by_class):
        rows = by_class[name]
        n_test = int(round(len(rows) * test_fraction))
        if len(rows) >= 2:
            n_test = min(max(n_test, 1), len(rows) - 1)
        else:
            n_test = 0
        test.update(rng.permutation(rows)[:n_test].tolist())
    train = [r for i, r in enumerate(photos) if i not in test]
    held = [r for i, r in enumerate(photos) if i in test]
    meta = {"test_fraction": test_fraction, "seed": seed, "classes": len(by_class)}
    return (ImageSet(train, {**photos.provenance, "split": "train", **meta}),
            ImageSet(held, {**photos.provenance, "split": "test", **meta}))


def truth_words(keywords: Iterable[str], related: RelatedWords | None, n: int) -> frozenset[str]:
    """The photo's words plus the top-``n`` related words of each."""
    words = set(keywords)
    if related is not None and n > 0:
        for word in list(words):
            words.update(w for w, _ in related.top_n(word, n))
    return frozenset(w for w in words if w)


class LyricJudge:
    """Which songs' text contains a word: lyrics without stage directions, and what titles say of the song.

    A title counts for its subject only (:func:`graphrec.data.tunes.split_title`): a ci's title is its
    tune's name, a qu's names a play and a tune, and neither says what the song is about.
    """

    def __init__(self, songs: Sequence[Song], *, title_subject: Callable[[Song], str] | None = None) -> None:
        self.songs = list(songs)
        subject = title_subject or _title_subject
        self.texts = [strip_stage_directions(s.lyrics) + "\n" + subject(s) for s in self.songs]
        self._holders: dict[str, np.ndarray] = {}

    def holders(self, word: str) -> np.ndarray:
        """Boolean mask over the songs: whose text contains ``word``."""
        mask = self._holders.get(word)
        if mask is None:
            mask = np.fromiter((word in text for text in self.texts), dtype=bool, count=len(self.texts))
            self._holders[word] = mask
        return mask

    def relevant(self, words: Iterable[str]) -> np.ndarray:
        """Boolean mask: songs whose text contains any of ``words``."""
        mask = np.zeros(len(self.texts), dtype=bool)
        for word in words:
            mask |= self.holders(word)
        return mask


def _title_subject(song: Song) -> str:
    from graphrec.data.tunes import split_title

    return split_title(song.title, source=song.source, tune=song.tune).subject


def keyword_match_text(
    judge: LyricJudge, word_votes: Sequence[Mapping[str, float]], k: int, *, tie_break: np.ndarray
) -> np.ndarray:
    """Top-``k`` song rows per query: songs whose text holds the most vote for the query's words.

    A song's score is the summed vote of the words its text contains; ties go to the higher
    ``tie_break`` (popularity, say), then the lower row. Rows of -1 fill places no song earns.
    """
    out = np.full((len(word_votes), k), -1, dtype=np.int64)
    order_tie = np.argsort(-np.nan_to_num(tie_break, nan=-np.inf), kind="stable")
    rank_tie = np.empty(len(order_tie), dtype=np.float64)
    rank_tie[order_tie] = np.arange(len(order_tie))
    for q, votes in enumerate(word_votes):
        score = np.zeros(len(judge.texts))
        for word, vote in votes.items():
            if vote > 0:
                score += vote * judge.holders(word)
        hit = np.flatnonzero(score > 0)
        if not len(hit):
            continue
        best = hit[np.lexsort((hit, rank_tie[hit], -score[hit]))][:k]
        out[q, : len(best)] = best
    return out


def length_matched_random(reference: np.ndarray, lengths: np.ndarray, *, bins: int = 20, seed: int = 0) -> np.ndarray:
    """For every song row in ``reference`` (queries x k), a random song from the same length bin (quantiles)."""
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, bins + 1)))
    bin_of = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
    members = {b: np.flatnonzero(bin_of == b) for b in np.unique(bin_of)}
    rng = np.random.default_rng(seed)
    out = np.full(reference.shape, -1, dtype=np.int64)
    for q in range(reference.shape[0]):
        used: set[int] = set()
        for j, row in enumerate(reference[q]):
            if row < 0:
                continue
            pool = members[int(bin_of[row])]
            for _ in range(20):  # draw again on a repeat within one query
                pick = int(rng.choice(pool))
                if pick not in used:
                    break
            used.add(pick)
            out[q, j] = pick
    return out


@dataclass
class PhotoReport:
    """precision@k and hit-rate@k per method with 95% intervals, and the chance rate."""

    rows: list[dict[str, Any]]
    queries: int
    chance: float
    per_query: dict[str, np.ndarray] = field(default_factory=dict)  # method -> precision@k per query

    def value(self, method: str, metric: str = "precision") -> float:
        for row in self.rows:
            if row["method"] == method:
                return float(row[metric])
        raise KeyError(f"no method {method!r} in this report")

    def paired(self, method: str, other: str, *, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
        """(mean, low, high) of ``method``'s precision minus ``other``'s over the same photos, with the 95%
        paired bootstrap interval: sharper than comparing two intervals, as both rank the same queries."""
        for name in (method, other):
            if name not in self.per_query:
                raise KeyError(f"no method {name!r} in this report")
        return bootstrap_ci(self.per_query[method] - self.per_query[other], n_resamples=n_resamples, seed=seed)


def score_rankings(
    rankings: Mapping[str, np.ndarray],
    relevant: Sequence[np.ndarray],
    *,
    k: int,
    seed: int = 0,
    n_resamples: int = 2000,
) -> PhotoReport:
    """precision@k and hit-rate@k of each method's rankings (queries x >= k song rows, -1 = empty place)."""
    n = len(relevant)
    if n == 0:
        raise InputError("no test photo can be judged: none has a class word that the songs contain.")
    chance = float(np.mean([mask.mean() for mask in relevant]))
    rows: list[dict[str, Any]] = []
    per_query: dict[str, np.ndarray] = {}
    for method, ranked in rankings.items():
        ranked = np.asarray(ranked)
        if ranked.shape[0] != n:
            raise InputError(f"method {method!r} ranked {ranked.shape[0]} queries, expected {n}.")
        hits = np.zeros((n, k), dtype=bool)
        for q in range(n):
            top = ranked[q, :k]
            valid = top >= 0
            hits[q, : len(top)][valid] = relevant[q][top[valid]]
        precision = np.asarray(hits.mean(axis=1), dtype=np.float64)
        hit = np.asarray(hits.any(axis=1), dtype=np.float64)
        _, p_lo, p_hi = bootstrap_ci(precision, n_resamples=n_resamples, seed=seed)
        _, h_lo, h_hi = bootstrap_ci(hit, n_resamples=n_resamples, seed=seed)
        per_query[method] = precision
        rows.append({
            "method": method, "k": k, "queries": n,
            "precision": float(precision.mean()), "precision_low": p_lo, "precision_high": p_hi,
            "hit_rate": float(hit.mean()), "hit_rate_low": h_lo, "hit_rate_high": h_hi,
            "empty_places": int((ranked[:, :k] < 0).sum()),
        })
    return PhotoReport(rows=rows, queries=n, chance=chance, per_query=per_query)


def song_spread(rankings: np.ndarray, lengths: np.ndarray, *, k: int, crowd: float = 0.2) -> dict[str, float]:
    """How varied and how substantial one method's songs are (issue 12's measures).

    Mean characters per recommended song (and that of the corpus), distinct songs over all queries,
    the largest share of queries any one song is recommended to, and the share of queries that have a
    song in common with at least ``crowd`` of the queries.
    """
    ranked = np.asarray(rankings)[:, :k]
    n = len(ranked)
    valid = ranked[ranked >= 0]
    counts = Counter(valid.tolist())
    crowded = {song for song, c in counts.items() if c >= crowd * n}
    return {
        "mean_chars": float(lengths[valid].mean()) if len(valid) else float("nan"),
        "corpus_mean_chars": float(lengths.mean()),
        "distinct_songs": len(counts),
        "max_query_share": max(counts.values()) / n if counts else 0.0,
        "queries_sharing_with_crowd": float(np.mean([any(s in crowded for s in row if s >= 0) for row in ranked])) if n else 0.0,
    }
