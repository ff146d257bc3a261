import numpy as np
import pytest

from graphrec.errors import InputError, ModelFormatError
from graphrec.index import ExactIndex, FaissIndex


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found, truth)]))


@pytest.fixture(scope="module")
def clustered():
    # Clustered vectors, as real descriptors are: uniform noise in high dimension has no near neighbours to find.
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 48)).astype(np.float32) * 3
    vectors = centres[rng.integers(0, 40, 3000)] + rng.normal(size=(3000, 48)).astype(np.float32)
    queries = centres[rng.integers(0, 40, 200)] + rng.normal(size=(200, 48)).astype(np.float32)
    return vectors, queries


def test_hnsw_recall_against_exact_search(clustered):
    vectors, queries = clustered
    truth, _ = ExactIndex(vectors).search(queries, 10)
    found, dist = FaissIndex(vectors, kind="hnsw", m=16, threads=1).search(queries, 10)
    assert found.dtype == np.int64 and dist.dtype == np.float32 and found.shape == (200, 10)
    assert _recall(found, truth) >= 0.9
    assert (np.diff(dist, axis=1) >= 0).all()  # nearest first
    # the distances are Euclidean: the same as numpy's for the same pairs
    np.testing.assert_allclose(dist, np.linalg.norm(queries[:, None, :] - vectors[found], axis=2), rtol=1e-4, atol=1e-4)


def test_a_starved_search_loses_recall(clustered):
    # The recall test above must be able to fail: with ef_search = 1 the graph walk stops early.
    vectors, queries = clustered
    truth, _ = ExactIndex(vectors).search(queries, 10)
    index = FaissIndex(vectors, kind="hnsw", m=4, ef_construction=8, threads=1)
    index.ef_search = 1
    assert _recall(index.search(queries, 1)[0], truth[:, :1]) < 0.95


def test_flat_is_exact_and_matches_exact_index(clustered):
    vectors, queries = clustered
    idx, dist = FaissIndex(vectors, kind="flat").search(queries, 5)
    e_idx, e_dist = ExactIndex(vectors).search(queries, 5)
    np.testing.assert_array_equal(idx, e_idx)
    np.testing.assert_allclose(dist, e_dist, atol=1e-3)


def test_known_answer_and_k_clipped():
    vectors = np.array([[0, 0], [3, 4], [10, 0]], dtype=np.float32)
    idx, dist = FaissIndex(vectors, kind="hnsw").search(np.array([0.0, 0.0]), 10)
    assert idx.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(dist, [[0, 5, 10]], atol=1e-5)


def test_save_load_round_trip(tmp_path, clustered):
    vectors, queries = clustered
    index = FaissIndex(vectors, kind="hnsw", m=8, ef_search=40, threads=1)
    path = index.save(tmp_path / "sub" / "covers.faiss")
    assert sorted(p.name for p in path.parent.iterdir()) == ["covers.faiss"]  # no temp file left behind
    loaded = FaissIndex.load(path)
    assert loaded.describe() == index.describe()
    for a, b in zip(loaded.search(queries, 7), index.search(queries, 7)):
        np.testing.assert_array_equal(a, b)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ModelFormatError, match="no FAISS index file"):
        FaissIndex.load(tmp_path / "absent.faiss")
    bad = tmp_path / "bad.faiss"
    bad.write_bytes(b"not an index at all")
    with pytest.raises(ModelFormatError, match="bad.faiss"):
        FaissIndex.load(bad)


@pytest.mark.parametrize(
    "vectors, kwargs, query, k",
    [
        (np.zeros((0, 3)), {}, np.zeros(3), 1),
        (np.eye(3), {"kind": "ivf"}, np.zeros(3), 1),
        (np.eye(3), {"m": 0}, np.zeros(3), 1),
        (np.full((2, 3), np.nan), {}, np.zeros(3), 1),
        (np.eye(3), {}, np.zeros(4), 1),
        (np.eye(3), {}, np.full(3, np.inf), 1),
        (np.eye(3), {}, np.zeros(3), 0),
    ],
)
def test_bad_input_is_a_clear_error(vectors, kwargs, query, k):
    with pytest.raises(InputError):
        FaissIndex(vectors, **kwargs).search(query, k)
