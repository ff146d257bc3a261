"""Ranking metrics: hit-rate@k, precision@k, and seeded bootstrap confidence intervals."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from collections.abc import Set as AbstractSet
from typing import TypeVar

import numpy as np

from graphrec.errors import InputError

H = TypeVar("H", bound=Hashable)


def _check_k(k: object) -> int:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}.")
    return int(k)


def hit_matrix(
    ranked: Sequence[Sequence[H]],
    words_of: Callable[[H], AbstractSet[str]],
    truths: Sequence[AbstractSet[str]],
) -> np.ndarray:
    """``hits[q, j]``: does the j-th item recommended for query q share a word with q's ground truth?

    ``ranked`` holds one list per query (best first; lists may be shorter than others, the missing
    places count as misses). ``words_of(item)`` gives an item's words (e.g. a song's keywords).
    """
    if len(ranked) != len(truths):
        raise InputError(f"got {len(ranked)} ranked lists but {len(truths)} ground truths; give one of each per query.")
    depth = max((len(items) for items in ranked), default=0)
    hits = np.zeros((len(ranked), depth), dtype=bool)
    for q, (items, truth) in enumerate(zip(ranked, truths)):
        for j, item in enumerate(items):
            hits[q, j] = not truth.isdisjoint(words_of(item))
    return hits


def hit_rate(hits: np.ndarray, k: int) -> float:
    """Share of queries with at least one hit among their first ``k`` items (NaN for no query)."""
    k = _check_k(k)
    hits = np.asarray(hits, dtype=bool)
    if hits.ndim != 2:
        raise InputError(f"hits must be a 2-D (queries x ranks) array, got shape {hits.shape}.")
    if hits.shape[0] == 0:
        return float("nan")
    return float(hits[:, :k].any(axis=1).mean())


def precision_at_k(relevance: Sequence[float], k: int) -> float:
    """(sum of relevance over the first ``k`` items) / ``k``; a list shorter than k counts the gap as irrelevant."""
    k = _check_k(k)
    values = np.asarray(list(relevance)[:k], dtype=np.float64)
    return float(values.sum() / k)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` and its percentile bootstrap interval.

    Resamples are drawn with ``numpy.random.default_rng(seed)``, so the same seed gives the same interval.
    """
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size == 0:
        return (float("nan"), float("nan"), float("nan"))
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}.")
    if not isinstance(n_resamples, int) or n_resamples < 1:
        raise InputError(f"n_resamples must be a positive integer, got {n_resamples!r}.")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (float(data.mean()), float(low), float(high))
