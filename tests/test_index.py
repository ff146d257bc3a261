import numpy as np
import pytest

from graphrec.errors import InputError
from graphrec.index import ExactIndex


def test_matches_brute_force_and_sorts_nearest_first():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 12)).astype(np.float32)
    queries = rng.normal(size=(9, 12)).astype(np.float32)
    idx, dist = ExactIndex(vectors).search(queries, 6)
    brute = np.linalg.norm(queries[:, None, :] - vectors[None, :, :], axis=2)
    np.testing.assert_array_equal(idx, np.argsort(brute, axis=1, kind="stable")[:, :6])
    np.testing.assert_allclose(dist, np.sort(brute, axis=1)[:, :6], atol=1e-4)
    assert (np.diff(dist, axis=1) >= 0).all()


def test_known_answer_and_tie_break_by_index():
    vectors = np.array([[0, 0], [1, 0], [0, 1], [5, 5]], dtype=np.float32)
    idx, dist = ExactIndex(vectors).search(np.array([0.0, 0.0]), 3)
    assert idx.tolist() == [[0, 1, 2]]  # 1 and 2 tie at distance 1: lower index first
    np.testing.assert_allclose(dist, [[0, 1, 1]])


def test_k_larger_than_index_is_clipped():
    idx, _ = ExactIndex(np.eye(3, dtype=np.float32)).search(np.zeros((1, 3)), 10)
    assert idx.shape == (1, 3)


@pytest.mark.parametrize(
    "vectors, query, k",
    [
        (np.zeros((0, 3)), np.zeros(3), 1),
        (np.eye(3), np.zeros(4), 1),
        (np.eye(3), np.full(3, np.nan), 1),
        (np.eye(3), np.zeros(3), 0),
    ],
)
def test_bad_input_is_a_clear_error(vectors, query, k):
    with pytest.raises(InputError):
        ExactIndex(vectors).search(query, k)
