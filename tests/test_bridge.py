"""The classifier bridge on the tiny themed world: a featurizer with its own three-class classifier.

Classes "snowfield", "poppy" and "night sky" recognise the white, red and dark-blue theme colours; a
class table ties them to 雪, 花 and 月. The right answers: a white photo gets snow songs through the
classifier even when no dataset image is white, the reasons name the class, and a photo the
classifier does not recognise and no image resembles gets no songs and a message saying why.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import THEMES, make_images, make_songs, solid_image, tiny_config
from graphrec.recommender import Recommender
from graphrec.vision.heads import ClassifierHead
from graphrec.vision.seeds import HsvHist

LABELS = ("snowfield", "poppy", "night sky")
TABLE = "index,name,keywords,weights,reason\n0,snowfield,雪,1,snow\n1,poppy,花,1,a red flower\n2,night sky,月,0.8,the moon at night\n"


class ColourClasses(HsvHist):
    """hsv_hist features plus a classifier whose class templates are the theme colours' histograms."""

    name = "colour_classes"

    def classifier_head(self) -> ClassifierHead:
        from PIL import Image

        templates = []
        for word in ("雪", "花", "月"):
            pixels = np.full((32, 32, 3), THEMES[word]["colour"], np.uint8)
            templates.append(HsvHist().transform([Image.fromarray(pixels)])[0])
        weight = np.stack(templates).astype(np.float32) * 40.0
        return ClassifierHead("test-colours", LABELS, weight, np.zeros(3, np.float32))


@pytest.fixture
def registry(monkeypatch):
    from graphrec.vision import registry

    monkeypatch.setitem(registry.FEATURIZERS, "colour_classes", lambda **kw: ColourClasses(**kw))


def _build(tmp_path, images, **recommend):
    table = tmp_path / "classes.csv"
    table.write_text(TABLE, encoding="utf-8")
    config = dataclasses.replace(
        tiny_config(), featurizer="colour_classes", class_table=str(table),
        recommend=dataclasses.replace(tiny_config().recommend, **recommend),
    )
    return Recommender.build(make_songs(), images, config, featurizer=ColourClasses(), show_progress=False)


def test_class_nodes_enter_the_graph_and_the_model(registry, tmp_path):
    model = _build(tmp_path, make_images(tmp_path / "img"))
    assert model.classes_ is not None and model.classes_.labels == list(LABELS)
    assert model.vectors_["class"].index_to_key == ["0", "1", "2"]
    assert model.provenance["classifier_bridge"]["in_graph"] == 3
    assert model.provenance["graph"]["class_keyword_edges"] == 3


def test_the_classifier_finds_snow_songs_when_no_dataset_image_is_snow(registry, tmp_path):
    images = make_images(tmp_path / "img")
    no_snow = dataclasses.replace(images, records=[r for r in images if r.keywords != ("雪",)])
    model = _build(tmp_path, no_snow)
    query = solid_image(tmp_path / "white.png", THEMES["雪"]["colour"], seed=5)
    recs = model.recommend(query, k=4)
    assert [s[0] for s in recs.song_ids] == ["雪"] * 4, recs.song_ids
    assert recs.items[0].classes[0][0] == "snowfield" and "looks like snowfield" in recs.items[0].reason
    assert recs.items[0].class_keywords == ["雪"] and recs.items[0].image_keywords == []
    assert recs.evidence["looks_like"][0][0] == "snowfield"
    # the paper's path (nearest images only) cannot see snow here
    images_only = model.with_recommend_config(dataclasses.replace(model.config.recommend, first_stage="images"))
    assert not any(s.startswith("雪") for s in images_only.recommend(query, k=4).song_ids)


def test_classifier_only_and_both_agree_on_a_clear_photo(registry, tmp_path):
    model = _build(tmp_path, make_images(tmp_path / "img"))
    query = solid_image(tmp_path / "red.png", THEMES["花"]["colour"], seed=6)
    for stage in ("classifier", "both", "images"):
        variant = model.with_recommend_config(dataclasses.replace(model.config.recommend, first_stage=stage))
        assert all(s.startswith("花") for s in variant.recommend(query, k=4).song_ids), stage


def test_no_evidence_gives_no_songs_and_says_why(registry, tmp_path):
    model = _build(tmp_path, make_images(tmp_path / "img"), min_image_similarity=0.99, min_class_mass=0.99)
    query = solid_image(tmp_path / "green.png", (40, 200, 60), seed=7)
    recs = model.recommend(query, k=5)
    assert len(recs) == 0 and recs.song_ids.size == 0
    assert recs.message is not None and "no evidence" in recs.message
    assert "message" in recs.to_dict()


def test_save_and_load_keep_the_bridge(registry, tmp_path):
    model = _build(tmp_path, make_images(tmp_path / "img"))
    path = model.save(tmp_path / "model")
    loaded = Recommender.load(path)
    assert loaded.classes_.labels == model.classes_.labels
    np.testing.assert_array_equal(loaded.vectors_["class"].vectors, model.vectors_["class"].vectors)
    assert (loaded.classes_.keywords != model.classes_.keywords).nnz == 0
    query = solid_image(tmp_path / "blue.png", THEMES["月"]["colour"], seed=8)
    assert loaded.recommend(query, k=4).song_ids.tolist() == model.recommend(query, k=4).song_ids.tolist()


def test_a_table_for_another_classifier_is_refused_naming_the_row(registry, tmp_path):
    from graphrec.errors import InputError

    table = tmp_path / "classes.csv"
    table.write_text("index,name,keywords,weights,reason\n0,snowfield,雪,1,snow\n1,tulip,花,1,a flower\n", encoding="utf-8")
    config = dataclasses.replace(tiny_config(), featurizer="colour_classes", class_table=str(table))
    with pytest.raises(InputError, match=r"line 3: class 1 'tulip'.*'poppy'"):
        Recommender.build(make_songs(), make_images(tmp_path / "img"), config, featurizer=ColourClasses(), show_progress=False)


def test_the_papers_rule_stays_selectable_and_is_validated(tiny_recommender, query_image):
    from graphrec.config import RecommendConfig
    from graphrec.errors import InputError

    paper = tiny_recommender.with_recommend_config(RecommendConfig(rank="paper", first_stage="images"))
    assert all(s.startswith("雪") for s in paper.recommend(query_image("雪"), k=4).song_ids)
    with pytest.raises(InputError, match="first_stage='images'"):
        RecommendConfig(rank="paper", first_stage="both")


def test_vocabulary_coverage_counts_songs_images_and_classes(registry, tmp_path):
    from graphrec.coverage import coverage_markdown, vocabulary_coverage

    images = make_images(tmp_path / "img")
    no_snow = dataclasses.replace(images, records=[r for r in images if r.keywords != ("雪",)])
    model = _build(tmp_path, no_snow)
    rows, left_out = vocabulary_coverage(model)
    by_word = {r.word: r for r in rows}
    assert by_word["雪"].songs == 4 and by_word["雪"].images == 0 and by_word["雪"].classes == 1
    assert by_word["雪"].reachable  # through the classifier alone
    assert by_word["花"].images == 6 and by_word["月"].classes == 1
    assert left_out == {}  # a given vocabulary includes nothing
    assert "| 雪 | 4 | 0 | 1 | selected |" in coverage_markdown(model)


def test_a_reason_names_for_each_word_the_images_or_classes_it_came_from():
    from graphrec.recommender import Recommendation

    item = Recommendation(
        song_id="s", title="t", artist="a", score=1.0, images=[("weather/sunrise/1.jpg", 0.3)], keywords=["日", "犬"],
        song_keywords=["日", "犬"], first_lines="", classes=[("golden retriever", 0.01)],
        image_keywords=["日"], class_keywords=["犬"],
    )
    assert item.reason == "shares 日 with nearby images weather/sunrise/1.jpg; looks like golden retriever 0.01 → 犬"
    assert item.to_dict()["class_keywords"] == ["犬"]
    # an item without the split (the paper's rule) names every shared word for each
    legacy = Recommendation(song_id="s", title="t", artist="a", score=1.0, images=[("i", 0.3)], keywords=["日"],
                            song_keywords=["日"], first_lines="", classes=[("c", 0.5)])
    assert legacy.reason == "shares 日 with nearby images i; looks like c 0.50 → 日"
