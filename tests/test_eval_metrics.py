"""Metrics and baselines on hand-made cases whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.errors import InputError
from graphrec.evaluate.baselines import keyword_match, popular, random_songs
from graphrec.evaluate.metrics import bootstrap_ci, hit_matrix, hit_rate, precision_at_k

SONG_WORDS = {"s1": {"月"}, "s2": {"雪", "山"}, "s3": {"花"}, "s4": set()}


def test_hit_matrix_and_hit_rate_known_answer():
    ranked = [["s1", "s2"], ["s2", "s3", "s1"], ["s1"]]
    truths = [{"雪", "冰"}, {"月"}, {"花"}]
    hits = hit_matrix(ranked, SONG_WORDS.__getitem__, truths)
    assert hits.tolist() == [[False, True, False], [False, False, True], [False, False, False]]
    # q0 first hits at rank 2, q1 at rank 3, q2 never.
    assert hit_rate(hits, 1) == 0.0
    assert hit_rate(hits, 2) == pytest.approx(1 / 3)
    assert hit_rate(hits, 3) == pytest.approx(2 / 3)
    assert hit_rate(hits, 10) == pytest.approx(2 / 3)  # k beyond the lists: the whole list


def test_hit_rate_edge_cases():
    assert np.isnan(hit_rate(np.zeros((0, 3), dtype=bool), 1))
    with pytest.raises(InputError, match="positive integer"):
        hit_rate(np.zeros((2, 2), dtype=bool), 0)
    with pytest.raises(InputError, match="one of each"):
        hit_matrix([["s1"]], SONG_WORDS.__getitem__, [])


def test_precision_at_k_known_answer():
    assert precision_at_k([1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1], 10) == pytest.approx(0.4)
    assert precision_at_k([1, 1, 1], 10) == pytest.approx(0.3)  # a short list: the gap counts as irrelevant
    assert precision_at_k([0.5, 1.0], 2) == pytest.approx(0.75)  # mean of judges' votes


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [1, 0, 1, 1, 0, 1, 0, 1, 1, 1]
    mean, low, high = bootstrap_ci(values, seed=3)
    assert mean == pytest.approx(0.7)
    assert low < mean < high and 0.0 <= low and high <= 1.0
    assert bootstrap_ci(values, seed=3) == (mean, low, high)
    assert bootstrap_ci(values, seed=4) != (mean, low, high)
    assert bootstrap_ci([1, 1, 1], seed=0) == (1.0, 1.0, 1.0)  # no spread, no interval
    assert all(np.isnan(bootstrap_ci([])))


# ---------------------------------------------------------------------------- baselines

VOCAB = ["雪", "月", "花"]
# Song-keyword weights: rows s0..s4.
SONGS = sp.csr_matrix(
    np.array(
        [
            [0.9, 0.0, 0.0],  # s0: strongly snow
            [0.2, 0.0, 0.0],  # s1: a little snow
            [0.0, 1.0, 0.0],  # s2: moon
            [0.0, 0.5, 0.5],  # s3: moon and flower
            [0.0, 0.0, 0.8],  # s4: flower
        ],
        dtype=np.float32,
    )
)
# Six training images in two clusters: three snowy ones near (0, 0), three moon/flower ones near (10, 10).
TRAIN_FEATURES = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], dtype=np.float32)
TRAIN_KEYWORDS = sp.csr_matrix(
    np.array([[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
)


def test_keyword_match_known_answer():
    queries = np.array([[0.2, 0.2], [10.2, 10.2]], dtype=np.float32)
    ranked = keyword_match(TRAIN_FEATURES, TRAIN_KEYWORDS, SONGS, queries, 3, k_images=3)
    # Query 0: neighbours vote 雪 x3 -> s0 (2.7) then s1 (0.6); nothing else carries 雪, so -1.
    assert ranked[0].tolist() == [0, 1, -1]
    # Query 1: 月 x2 + 花 x1 -> s2 = 2.0, s3 = 0.5*2 + 0.5 = 1.5, s4 = 0.8.
    assert ranked[1].tolist() == [2, 3, 4]


def test_keyword_match_one_neighbour_is_top_weight_for_its_keyword():
    ranked = keyword_match(TRAIN_FEATURES, TRAIN_KEYWORDS, SONGS, np.array([[11.0, 9.9]]), 2, k_images=1)
    assert ranked.tolist() == [[4, 3]]  # nearest image is the flower one: s4 (0.8) before s3 (0.5)


def test_keyword_match_rejects_mismatched_vocabularies():
    with pytest.raises(InputError, match="same vocabulary"):
        keyword_match(TRAIN_FEATURES, TRAIN_KEYWORDS[:, :2], SONGS, TRAIN_FEATURES[:1], 2)


def test_popular_known_answer_with_nan_and_ties():
    pop = np.array([5.0, np.nan, 9.0, 5.0, 1.0])
    assert popular(pop, 2, 4).tolist() == [[2, 0, 3, 4], [2, 0, 3, 4]]  # tie 0/3 to the lower row; NaN last
    assert popular(pop, 1, 10).tolist() == [[2, 0, 3, 4, 1]]


def test_random_is_seeded_distinct_and_per_query():
    a = random_songs(50, 4, 10, seed=1)
    assert a.shape == (4, 10)
    assert all(len(set(row)) == 10 for row in a.tolist())
    assert np.array_equal(a, random_songs(50, 4, 10, seed=1))
    assert not np.array_equal(a, random_songs(50, 4, 10, seed=2))
    assert np.array_equal(random_songs(50, 2, 10, seed=1), a[:2])  # query q's draw depends only on (seed, q)
