from pathlib import Path

import numpy as np
import pytest
from covers_drawn import draw_covers, private_cache  # noqa: F401  (autouse fixture)
from PIL import Image

from graphrec.covers import read_cover_folder
from graphrec.covers.genre import cross_validate
from graphrec.covers.tags import (
    ImageNetTagger,
    TagGenre,
    Tagger,
    bag_of_tags,
    distinctive_tags,
    genre_tag_totals,
    tag_covers,
    top_k,
    top_tags,
)
from graphrec.vision.base import FeatureBatch

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    return ImageNetTagger(cache_dir=tmp_path_factory.mktemp("cache"))


def test_imagenet_tagger_names_the_coffee(imagenet):
    tagger = imagenet
    assert isinstance(tagger, Tagger) and len(tagger.labels) == 1000
    scores = tagger.score_images([SAMPLES / "coffee.jpg"])
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-5)
    assert top_k(scores, tagger.labels, 1)[0][0][0] == "espresso"


def test_imagenet_tags_of_files_come_from_the_cached_features(imagenet, tmp_path):
    tagger = imagenet
    path = tmp_path / "coffee.jpg"
    path.write_bytes((SAMPLES / "coffee.jpg").read_bytes())
    batch = tagger.score([str(path)])
    np.testing.assert_allclose(batch.features, tagger.score_images([path]), atol=1e-5)


def test_bags_totals_top_and_distinctive_known_answer():
    # tags: 0 "generic" (every genre), 1 only genre 0, 2 only genre 1, 3 weak in both
    scores = np.array([[0.6, 0.3, 0.0, 0.1], [0.5, 0.4, 0.0, 0.1], [0.7, 0.0, 0.2, 0.1], [0.6, 0.0, 0.3, 0.1]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1])
    bag = bag_of_tags(scores, k=2)
    np.testing.assert_allclose(bag, [[0.6, 0.3, 0, 0], [0.5, 0.4, 0, 0], [0.7, 0, 0.2, 0], [0.6, 0, 0.3, 0]])
    totals = genre_tag_totals(bag, labels, 2)
    np.testing.assert_allclose(totals, [[1.1, 0.7, 0, 0], [1.3, 0, 0.5, 0]])
    assert [t.tolist() for t in top_tags(totals, 1)] == [[0], [0]]  # the generic tag tops both genres
    assert [t.tolist() for t in top_tags(totals, 5)] == [[0, 1], [0, 2]]  # tags that never occur are not "top"
    assert [t.tolist() for t in distinctive_tags(totals, pool=2)] == [[1], [2]]


def _generic_and_distinctive_bags(n_per_genre=30, genres=3, seed=0):
    """Every cover's strongest tag is the same generic one; a weaker tag tells its genre."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(genres), n_per_genre)
    scores = np.zeros((len(labels), 1 + genres), dtype=np.float32)
    scores[:, 0] = rng.uniform(0.5, 0.9, len(labels))
    scores[np.arange(len(labels)), 1 + labels] = rng.uniform(0.1, 0.3, len(labels))
    return scores, labels


def test_distinctive_tags_classify_where_top_tags_cannot():
    bag, labels = _generic_and_distinctive_bags()
    top = cross_validate(lambda: TagGenre(n=1, vocabulary="top"), bag, labels, ("a", "b", "c"), folds=3, seed=0)
    distinctive = cross_validate(lambda: TagGenre(n=1, vocabulary="distinctive"), bag, labels, ("a", "b", "c"), folds=3, seed=0)
    assert distinctive.accuracy == 1.0
    assert top.accuracy < 0.6  # the generic tag alone says nothing about the genre


class ColourTagger:
    """A drop-in tagger: scores "red", "green", "blue" by each channel's share of the image."""

    name = "colour"
    labels = ("red", "green", "blue")

    def score(self, paths, *, hashes=None, show_progress=None):
        rows, ok, failures = [], [], []
        for i, path in enumerate(paths):
            try:
                means = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).mean(axis=(0, 1))
            except OSError as exc:
                failures.append((path, str(exc)))
                continue
            rows.append(means / means.sum())
            ok.append(i)
        return FeatureBatch(features=np.array(rows, dtype=np.float32), ok=ok, failures=failures)


def test_another_tagger_drops_in(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=6)
    (root / "metal" / "broken.png").write_bytes(b"nope")
    covers = read_cover_folder(root, show_progress=False)
    kept, scores, failures = tag_covers(covers, ColourTagger())
    assert len(kept) == 18 and [Path(p).name for p, _ in failures] == ["broken.png"]
    best = [ColourTagger.labels[j] for j in scores.argmax(axis=1)]
    assert dict(zip(kept.genres, [best[i] for i in range(0, 18, 6)])) == {"country": "green", "electronic": "blue", "metal": "red"}


def test_tag_classifier_rejects_bad_options():
    from graphrec.errors import InputError

    with pytest.raises(InputError, match="top"):
        TagGenre(vocabulary="rare")
