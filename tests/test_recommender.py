import json
import shutil

import numpy as np
import pytest

from conftest import THEMES, make_images, make_songs, tiny_config
from graphrec.errors import InputError, ModelFormatError
from graphrec.recommender import Recommender


@pytest.mark.parametrize("word", list(THEMES))
def test_query_gets_its_theme_songs_first(tiny_recommender, query_image, word):
    recs = tiny_recommender.recommend(query_image(word), k=4)
    assert len(recs) == 4
    assert all(item.song_id.startswith(word) for item in recs.items), recs.song_ids
    # the reason names the images that led there and the keyword they share
    assert all(item.keywords == [word] for item in recs.items)
    assert all(image_id.startswith(word) for item in recs.items for image_id, _ in item.images)


def test_fills_to_k_without_duplicates(tiny_recommender, query_image):
    recs = tiny_recommender.recommend(query_image("月"), k=10)
    assert len(recs) == 10
    assert len(set(recs.song_ids.tolist())) == 10
    assert recs.scores.dtype == np.float32
    assert recs.featurizer == "hsv_hist"
    assert len(recs.neighbour_images) == tiny_recommender.config.recommend.k_images


def test_k_is_capped_by_the_number_of_songs(tiny_recommender, query_image):
    assert len(tiny_recommender.recommend(query_image("花"), k=1000)) == 12


def test_batch_of_features_matches_single_queries(tiny_recommender, query_image):
    paths = [query_image(w, seed=s) for s, w in enumerate(THEMES)]
    features = tiny_recommender.featurizer.transform(paths)
    batch = tiny_recommender.recommend_features(features, k=5)
    assert len(paths) > 1  # a batch takes the one-product path for the LINE closeness, a single photo the other
    for path, recs in zip(paths, batch):
        single = tiny_recommender.recommend(path, k=5)
        assert recs.song_ids.tolist() == single.song_ids.tolist()
        np.testing.assert_allclose(recs.scores, single.scores, atol=1e-6)


def test_a_model_pickles_and_recommends_the_same_after(tiny_recommender, query_image):
    # multiprocessing and Ray ship models between processes by pickling them
    import pickle

    tiny_recommender.recommend(query_image("雪"), k=5)  # the bigram cache now holds songs
    copy = pickle.loads(pickle.dumps(tiny_recommender))
    for word in THEMES:
        a, b = tiny_recommender.recommend(query_image(word), k=5), copy.recommend(query_image(word), k=5)
        assert a.song_ids.tolist() == b.song_ids.tolist()


def test_save_load_gives_identical_recommendations(tiny_recommender, tiny_model_dir, query_image):
    loaded = Recommender.load(tiny_model_dir)
    for name in ("song_vectors_", "image_vectors_", "keyword_vectors_", "image_features_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(tiny_recommender, name))
    assert (loaded.song_keywords_ != tiny_recommender.song_keywords_).nnz == 0
    assert loaded.vocabulary_ == tiny_recommender.vocabulary_
    assert loaded.songs_ == tiny_recommender.songs_
    for word in THEMES:
        a = tiny_recommender.recommend(query_image(word), k=10)
        b = loaded.recommend(query_image(word), k=10)
        assert a.song_ids.tolist() == b.song_ids.tolist()
        np.testing.assert_array_equal(a.scores, b.scores)


def test_truncated_model_file_fails_clearly(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    target = broken / "song_vectors.npy"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(ModelFormatError, match="song_vectors.npy.*checksum"):
        Recommender.load(broken)


def test_missing_model_file_fails_clearly(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "images.jsonl").unlink()
    with pytest.raises(ModelFormatError, match="images.jsonl.*missing"):
        Recommender.load(broken)


def test_tampered_manifest_version_fails_clearly(tiny_model_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["format_version"] = 99
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="format_version 99"):
        Recommender.load(broken)


def test_not_a_model_directory(tmp_path):
    with pytest.raises(ModelFormatError, match="no manifest.json"):
        Recommender.load(tmp_path)
    with pytest.raises(ModelFormatError, match="no model directory"):
        Recommender.load(tmp_path / "nope")


def test_save_replaces_an_old_model_atomically(tiny_recommender, tmp_path):
    target = tmp_path / "m"
    tiny_recommender.save(target)
    tiny_recommender.save(target)
    assert Recommender.load(target).song_ids_ == tiny_recommender.song_ids_
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging or backup left behind


def test_save_refuses_to_clobber_a_foreign_directory(tiny_recommender, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ModelFormatError, match="not a graphrec model"):
        tiny_recommender.save(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_build_rejects_empty_inputs(tmp_path):
    from graphrec.data.images import ImageSet
    from graphrec.data.songs import SongCorpus

    images = make_images(tmp_path)
    with pytest.raises(InputError, match="song corpus is empty"):
        Recommender.build(SongCorpus(songs=[], provenance={}), images, tiny_config())
    with pytest.raises(InputError, match="image set is empty"):
        Recommender.build(make_songs(), ImageSet(records=[], provenance={}), tiny_config())


def test_build_skips_unreadable_images_and_records_them(tmp_path):
    from graphrec.data.images import ImageRecord, ImageSet

    images = make_images(tmp_path / "ok")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    records = list(images.records) + [ImageRecord(id="bad", path=str(bad), keywords=("雪",), weights=(1.0,))]
    model = Recommender.build(make_songs(), ImageSet(records=records, provenance={}), tiny_config(), show_progress=False)
    assert "bad" not in model.image_ids_
    assert [f["path"] for f in model.provenance["images_failed"]] == [str(bad)]


def test_recommend_names_a_bad_input_file(tiny_recommender, tmp_path):
    with pytest.raises((InputError, FileNotFoundError), match="nope.png"):
        tiny_recommender.recommend(tmp_path / "nope.png")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(InputError, match="corrupt.jpg"):
        tiny_recommender.recommend(corrupt)


def test_song_lookup_errors_name_the_id(tiny_recommender):
    assert tiny_recommender.song("雪-0").title == "雪之歌其0"
    with pytest.raises(KeyError, match="no-such-song"):
        tiny_recommender.song("no-such-song")


def test_precomputed_features_give_the_same_model(tiny_recommender, tmp_path):
    images = make_images(tmp_path)
    features = tiny_recommender.featurizer.transform([r.path for r in images.records])
    model = Recommender.build(
        make_songs(), images, tiny_config(), featurizer=tiny_recommender.featurizer, image_features=features
    )
    np.testing.assert_array_equal(model.image_features_, features)
    with pytest.raises(InputError, match="one feature row per image"):
        Recommender.build(make_songs(), images, tiny_config(), image_features=features[:-1])


def _with_features(model, features, feature_norm):
    import dataclasses

    config = dataclasses.replace(
        model.config, recommend=dataclasses.replace(model.config.recommend, feature_norm=feature_norm)
    )
    return Recommender(
        config=config, vocabulary=model.vocabulary_, songs=model.songs_, song_keywords=model.song_keywords_,
        song_vectors=model.song_vectors_, images=model.images_, image_features=features,
        image_vectors=model.image_vectors_, keyword_vectors=model.keyword_vectors_, featurizer_name="handmade",
    )


def test_feature_norm_l2_ranks_by_direction_and_none_by_raw_distance(tiny_recommender):
    # Snow images point along x with length 1, flower images along (1, 1) with length ~8.5, moon along z.
    # The query (8, 2, 0) points nearly along snow (cosine 0.97 vs 0.86) but lies nearer the flowers (4.5 vs 7.3).
    directions = {"雪": [1.0, 0.0, 0.0], "花": [6.0, 6.0, 0.0], "月": [0.0, 0.0, 3.0]}
    rng = np.random.default_rng(0)
    features = np.array(
        [np.array(directions[r.keywords[0]]) * (1 + 0.01 * rng.standard_normal()) for r in tiny_recommender.images_],
        dtype=np.float32,
    )
    query = np.array([[8.0, 2.0, 0.0]], dtype=np.float32)
    by_direction = _with_features(tiny_recommender, features, "l2").recommend_features(query, k=3)[0]
    by_distance = _with_features(tiny_recommender, features, "none").recommend_features(query, k=3)[0]
    assert {image_id[0] for image_id, _ in by_direction.neighbour_images} == {"雪"}
    assert all(s.startswith("雪") for s in by_direction.song_ids)
    assert {image_id[0] for image_id, _ in by_distance.neighbour_images[:3]} == {"花"}
    assert all(s.startswith("花") for s in by_distance.song_ids)


def test_feature_norm_is_validated():
    from graphrec.config import RecommendConfig

    with pytest.raises(ValueError, match="feature_norm must be 'l2' or 'none'"):
        RecommendConfig(feature_norm="cosine")


def test_keyword_relevance_is_validated_and_a_model_can_query_under_either_rule(tiny_recommender, query_image):
    import dataclasses

    from graphrec.config import RecommendConfig

    with pytest.raises(InputError, match="keyword_relevance must be 'any'.*got 'often'"):
        RecommendConfig(keyword_relevance="often")
    lines = tiny_recommender.with_recommend_config(
        dataclasses.replace(tiny_recommender.config.recommend, keyword_relevance="lines"))
    assert tiny_recommender.song_relevance_.data.tolist() == [1.0] * tiny_recommender.song_relevance_.nnz
    assert lines.song_relevance_.max() < 1.0  # 1 - 2**-lines
    assert len(lines.recommend(query_image("雪"), k=4)) == 4


def test_evidence_match_is_validated_and_a_batch_ranks_as_one_photo_at_a_time_under_either_rule(tiny_recommender, query_image):
    import dataclasses

    from graphrec.config import RecommendConfig

    with pytest.raises(InputError, match="evidence_match must be 'sources'.*got 'images'"):
        RecommendConfig(evidence_match="images")
    features = tiny_recommender.featurizer.transform([query_image(w, seed=s) for s, w in enumerate(("雪", "月", "花"))])
    for match in ("sources", "words"):
        model = tiny_recommender.with_recommend_config(
            dataclasses.replace(tiny_recommender.config.recommend, evidence_match=match))
        batch = model.recommend_features(features, 4)  # relevance for the batch at once ("words") or per photo
        single = [model.recommend_features(features[q:q + 1], 4)[0] for q in range(len(features))]
        assert [r.song_ids.tolist() for r in batch] == [r.song_ids.tolist() for r in single]
        assert all(len(r) == 4 for r in batch)


def test_a_model_saved_before_pieces_of_evidence_keeps_counting_words(tiny_model_dir):
    import json as _json

    from graphrec.config import BuildConfig

    config = BuildConfig().to_dict()
    assert BuildConfig.from_dict(config).recommend.evidence_match == "sources"
    del config["recommend"]["evidence_match"]
    config["recommend"]["keyword_weight"] = 1.0
    old = BuildConfig.from_dict(config).recommend
    assert (old.evidence_match, old.keyword_weight) == ("words", 1.0)
    # a model saved now records the rule, so it loads with the rule it was built with
    manifest = _json.loads((tiny_model_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["recommend"]["evidence_match"] == "sources"
