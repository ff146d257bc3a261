"""The paper's baselines, as functions returning song rows ``(n_queries, k)`` (best first, -1 = no song).

- KM, keyword matching: the keywords of the query's ``k_images`` nearest (training) images in
  feature space, then the songs that carry those keywords most strongly;
- POP: the most popular songs of the corpus, the same list for every query;
- random: ``k`` distinct songs per query, seeded.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from graphrec.errors import InputError
from graphrec.index import ExactIndex

_SCORE_BLOCK = 4_000_000  # query x song scores per block, so 32k songs x many queries stay small


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, the columns of the ``k`` largest positive scores, ties to the lower column; -1 pads."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    return np.where(top > 0, order, -1).astype(np.int64)


def keyword_match(
    train_features: np.ndarray,
    train_keywords: sp.spmatrix,
    song_keywords: sp.spmatrix,
    query_features: np.ndarray,
    k: int,
    *,
    k_images: int = 5,
) -> np.ndarray:
    """KM: top-``k`` songs by ``song_keywords @ v``, where ``v`` sums the keyword rows of the query's nearest images.

    ``train_keywords`` is (n_images x K) image-keyword weights and ``song_keywords`` (n_songs x K)
    song-keyword weights over the same vocabulary. With one keyword this is exactly "the songs with
    the highest weight for that keyword"; with several, a keyword shared by more of the neighbours
    counts more. Songs without any of the keywords are never returned (their places are -1).
    """
    if k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}.")
    train_keywords = sp.csr_matrix(train_keywords, dtype=np.float64)
    song_keywords = sp.csr_matrix(song_keywords, dtype=np.float64)
    if train_keywords.shape[1] != song_keywords.shape[1]:
        raise InputError(
            f"image keywords have {train_keywords.shape[1]} columns but song keywords {song_keywords.shape[1]}; "
            "both must be over the same vocabulary."
        )
    if train_keywords.shape[0] != len(train_features):
        raise InputError(
            f"{len(train_features)} training feature rows but {train_keywords.shape[0]} image-keyword rows; "
            "give one of each per training image."
        )
    neighbours, _ = ExactIndex(train_features).search(np.asarray(query_features, dtype=np.float32), k_images)
    n_queries = neighbours.shape[0]
    # votes[q] = sum of the neighbours' keyword rows, as a (queries x images) selector times the keyword matrix
    selector = sp.csr_matrix(
        (np.ones(neighbours.size), (np.repeat(np.arange(n_queries), neighbours.shape[1]), neighbours.ravel())),
        shape=(n_queries, train_keywords.shape[0]),
    )
    votes = (selector @ train_keywords).toarray()
    k = min(k, song_keywords.shape[0])
    out = np.empty((n_queries, k), dtype=np.int64)
    block = max(1, _SCORE_BLOCK // max(1, song_keywords.shape[0]))
    for start in range(0, n_queries, block):
        scores = np.asarray(song_keywords @ votes[start : start + block].T).T
        out[start : start + block] = _top_rows(scores, k)
    return out


def popular(popularity: np.ndarray, n_queries: int, k: int) -> np.ndarray:
    """POP: the ``k`` most popular songs (NaN popularity ranks last; ties to the lower row), for every query."""
    if k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}.")
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.ndim != 1 or pop.size == 0:
        raise InputError(f"popularity must be a non-empty 1-D array (one value per song), got shape {pop.shape}.")
    key = np.where(np.isnan(pop), -np.inf, pop)
    top = np.argsort(-key, kind="stable")[: min(k, pop.size)]
    return np.tile(top.astype(np.int64), (n_queries, 1))


def random_songs(n_songs: int, n_queries: int, k: int, *, seed: int = 0) -> np.ndarray:
    """``k`` distinct random songs per query; query q's draw depends only on (seed, q)."""
    if k < 1 or n_songs < 1:
        raise InputError(f"need k >= 1 and at least one song, got k={k!r}, n_songs={n_songs!r}.")
    k = min(k, n_songs)
    return np.stack(
        [np.random.default_rng([seed, q]).choice(n_songs, size=k, replace=False) for q in range(n_queries)]
    ).astype(np.int64).reshape(n_queries, k)
