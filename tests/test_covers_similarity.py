import json

import numpy as np
import pytest
from covers_drawn import draw_covers, private_cache  # noqa: F401  (autouse fixture)
from PIL import Image

from graphrec.covers import read_cover_folder
from graphrec.covers.montage import write_montage
from graphrec.covers.similarity import CoverIndex, ann_recall, build_cover_index, genre_auc
from graphrec.errors import ModelFormatError
from graphrec.index import FaissIndex


def test_auc_known_answer():
    # On a line: 0 and 1 are genre 0, 3 and 10 genre 1. Query 3's genre-mate (10) is farther than both others.
    x = np.array([[0.0], [1.0], [3.0], [10.0]])
    y = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(genre_auc(x, y, show_progress=False), [1.0, 1.0, 0.0, 1.0])


def test_auc_counts_ties_as_half():
    x = np.zeros((4, 3))  # every cover at the same place: no ranking information
    np.testing.assert_allclose(genre_auc(x, np.array([0, 0, 1, 1]), show_progress=False), 0.5)


def test_auc_perfect_descriptor_is_one_and_random_is_a_half():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 600)
    perfect = np.eye(4)[y] + 0.01 * rng.normal(size=(600, 4))
    assert np.nanmean(genre_auc(perfect, y, block=97, show_progress=False)) == 1.0
    random = genre_auc(rng.normal(size=(600, 32)), y, show_progress=False)
    assert abs(np.nanmean(random) - 0.5) < 0.02
    cosine = genre_auc(perfect * rng.uniform(1, 50, size=(600, 1)), y, metric="cosine", show_progress=False)
    assert np.nanmean(cosine) == 1.0  # lengths differ wildly, directions carry the genre


def test_auc_of_a_genre_without_mates_is_nan():
    auc = genre_auc(np.array([[0.0], [1.0], [2.0]]), np.array([0, 0, 1]), show_progress=False)
    assert np.isnan(auc[2]) and auc[0] == 1.0


def test_ann_recall_of_exact_search_is_one_and_of_a_starved_graph_less():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 24)).astype(np.float32)
    assert ann_recall(FaissIndex(x, kind="flat"), x, k=10) == 1.0
    starved = FaissIndex(x, kind="hnsw", m=2, ef_construction=4, threads=1)
    starved.ef_search = 1
    assert ann_recall(starved, x, k=10) < 0.9


@pytest.fixture
def drawn_index(tmp_path):
    covers = read_cover_folder(draw_covers(tmp_path / "covers", per_genre=8), show_progress=False)
    return build_cover_index(covers, "hsv_hist", threads=1, show_progress=False)


def test_nearest_drawn_cover_shares_its_genre(drawn_index, tmp_path):
    from covers_drawn import draw_cover

    for genre in ("metal", "electronic", "country"):
        path = tmp_path / f"new-{genre}.png"
        draw_cover(genre, seed=424242).save(path)
        found = drawn_index.similar([path], k=5)[0]
        assert [n.genre for n in found] == [genre] * 5
        assert [n.distance for n in found] == sorted(n.distance for n in found)


def test_cover_index_round_trip_compares_every_array(drawn_index, tmp_path):
    path = drawn_index.save(tmp_path / "index")
    loaded = CoverIndex.load(path)
    assert loaded.covers.paths == drawn_index.covers.paths
    assert loaded.covers.genres == drawn_index.covers.genres and loaded.covers.sha256 == drawn_index.covers.sha256
    np.testing.assert_array_equal(loaded.covers.labels, drawn_index.covers.labels)
    n = len(drawn_index.index)
    np.testing.assert_array_equal(loaded.index._index.reconstruct_n(0, n), drawn_index.index._index.reconstruct_n(0, n))
    assert (loaded.featurizer_name, loaded.normalize, loaded.index.describe()) == (
        drawn_index.featurizer_name, drawn_index.normalize, drawn_index.index.describe())
    probe = np.random.default_rng(0).random((5, 512)).astype(np.float32)
    assert loaded.neighbours(probe, 4) == drawn_index.neighbours(probe, 4)


def test_a_changed_file_fails_its_checksum(drawn_index, tmp_path):
    path = drawn_index.save(tmp_path / "index")
    covers = json.loads((path / "covers.json").read_text())
    covers["genres"] = list(reversed(covers["genres"]))
    (path / "covers.json").write_text(json.dumps(covers))
    with pytest.raises(ModelFormatError, match="checksum"):
        CoverIndex.load(path)


def test_montage_has_a_tile_per_neighbour(tmp_path):
    from covers_drawn import draw_cover

    paths = []
    for i in range(7):
        paths.append(tmp_path / f"{i}.png")
        draw_cover("metal", seed=i).save(paths[-1])
    out = write_montage(paths[0], [(p, f"metal {i}") for i, p in enumerate(paths[1:])] + [(tmp_path / "gone.png", "?")],
                        tmp_path / "m.png", tile=40, columns=4)
    image = Image.open(out)
    assert image.format == "PNG" and image.width > 5 * 40 and image.height > 2 * 40
