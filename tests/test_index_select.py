"""The first stage's index choice: make_index by size, FAISS IVF-PQ, and a FAISS index saved with the model."""

import dataclasses
import json

import numpy as np
import pytest

from graphrec.config import RecommendConfig
from graphrec.errors import InputError, ModelFormatError
from graphrec.index import ExactIndex, FaissIndex, index_kind, make_index, resolve_kind
from test_faiss_index import _recall


@pytest.fixture(scope="module")
def clustered():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(50, 64)).astype(np.float32) * 3
    vectors = centres[rng.integers(0, 50, 12_000)] + rng.normal(size=(12_000, 64)).astype(np.float32)
    queries = centres[rng.integers(0, 50, 200)] + rng.normal(size=(200, 64)).astype(np.float32)
    return vectors, queries


@pytest.mark.parametrize(
    "n, kind, expected",
    [(10, "auto", "exact"), (19_999, "auto", "exact"), (20_000, "auto", "hnsw"), (199_999, "auto", "hnsw"),
     (200_000, "auto", "ivfpq"), (10, "hnsw", "hnsw"), (10**7, "exact", "exact"), (10, "ivfpq", "ivfpq")],
)
def test_auto_picks_by_size(n, kind, expected):
    assert resolve_kind(n, kind) == expected


def test_threshold_moves_the_switch_and_bad_kinds_are_refused():
    assert resolve_kind(100, "auto", threshold=100) == "hnsw"
    assert resolve_kind(100, "auto", threshold=100, ivfpq_from=50) == "ivfpq"
    with pytest.raises(InputError, match="'auto' picks by size"):
        resolve_kind(10, "annoy")
    with pytest.raises(InputError, match="RecommendConfig.index"):
        RecommendConfig(index="annoy")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="index_threshold"):
        RecommendConfig(index_threshold=0)


def test_make_index_builds_the_kind_asked_and_reuses_a_matching_one(clustered):
    vectors, _ = clustered
    small = vectors[:300]
    assert isinstance(make_index(small), ExactIndex)
    hnsw = make_index(small, "auto", threshold=100)
    assert isinstance(hnsw, FaissIndex) and hnsw.kind == "hnsw"
    assert make_index(small, "hnsw", reuse=hnsw) is hnsw
    assert make_index(small[:200], "hnsw", reuse=hnsw) is not hnsw  # another size: built anew
    assert index_kind(make_index(small, "exact", reuse=hnsw)) == "exact"


def test_ivfpq_recall_against_exact_search(clustered):
    vectors, queries = clustered
    truth, _ = ExactIndex(vectors).search(queries, 5)
    index = FaissIndex(vectors, kind="ivfpq", threads=1)
    found, dist = index.search(queries, 5)
    assert index.describe()["nlist"] > 1 and index.describe()["kind"] == "ivfpq"
    assert _recall(found, truth) >= 0.95
    assert (np.diff(dist, axis=1) >= 0).all()
    # re-ranked on float16 copies: the distances are Euclidean to within float16 rounding
    np.testing.assert_allclose(dist, np.linalg.norm(queries[:, None, :] - vectors[found], axis=2), rtol=2e-3, atol=2e-2)


def test_ivfpq_recall_test_can_fail(clustered):
    # one cell probed and no re-ranking depth: a real share of the true neighbours is missed
    vectors, queries = clustered
    truth, _ = ExactIndex(vectors).search(queries, 5)
    index = FaissIndex(vectors, kind="ivfpq", nlist=64, pq_m=2, nprobe=1, k_factor=1, threads=1)
    assert _recall(index.search(queries, 5)[0], truth) < 0.95


def test_ivfpq_never_comes_back_short():
    # 64 cells over 300 vectors, one probed: a cell holds fewer than k; the search widens until it has k
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    index = FaissIndex(vectors, kind="ivfpq", nlist=64, nprobe=1, train_size=3000, threads=1)
    idx, dist = index.search(vectors[:20], 200)
    assert idx.shape == (20, 200) and (idx >= 0).all() and len(set(idx[0].tolist())) == 200


def test_bytes_round_trip_and_damaged_bytes(clustered):
    vectors, queries = clustered
    index = FaissIndex(vectors[:2000], kind="ivfpq", threads=1)
    loaded = FaissIndex.from_bytes(index.to_bytes())
    assert loaded.describe() == index.describe()
    for a, b in zip(loaded.search(queries, 5), index.search(queries, 5)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ModelFormatError, match="model file x"):
        FaissIndex.from_bytes(index.to_bytes()[:1000], source="model file x")


def test_recommender_with_a_faiss_first_stage_agrees_with_exact(tiny_recommender, query_image):
    cfg = tiny_recommender.config.recommend
    assert index_kind(tiny_recommender._image_index) == "exact"
    faiss_model = tiny_recommender.with_recommend_config(dataclasses.replace(cfg, index_threshold=10))
    assert index_kind(faiss_model._image_index) == "hnsw"
    for word in ("雪", "月", "花"):
        exact = tiny_recommender.recommend(query_image(word), k=4)
        approx = faiss_model.recommend(query_image(word), k=4)
        assert list(approx.song_ids) == list(exact.song_ids)
        assert [i for i, _ in approx.neighbour_images] == [i for i, _ in exact.neighbour_images]


def test_faiss_index_is_saved_checked_and_reused(tiny_recommender, tmp_path, monkeypatch, query_image):
    import graphrec
    from graphrec.recommender import Recommender

    model = tiny_recommender.with_recommend_config(dataclasses.replace(tiny_recommender.config.recommend, index="hnsw"))
    path = model.save(tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["image_index"]["kind"] == "hnsw" and manifest["config"]["recommend"]["index"] == "hnsw"
    assert "image_index.faiss" in manifest["files"]

    def no_build(*args, **kwargs):
        raise AssertionError("the saved index should have been reused, not rebuilt")

    monkeypatch.setattr(FaissIndex, "__init__", no_build)
    loaded = graphrec.load(path)
    assert index_kind(loaded._image_index) == "hnsw" and len(loaded._image_index) == len(model.images_)
    assert list(loaded.recommend(query_image("花"), k=3).song_ids) == list(model.recommend(query_image("花"), k=3).song_ids)
    monkeypatch.undo()

    exact_dir = tiny_recommender.save(tmp_path / "exact")
    assert not (exact_dir / "image_index.faiss").exists()
    assert json.loads((exact_dir / "manifest.json").read_text())["image_index"]["kind"] == "exact"

    damaged = path / "image_index.faiss"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    with pytest.raises(ModelFormatError, match="image_index.faiss"):
        Recommender.load(path)
