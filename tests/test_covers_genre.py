import numpy as np
import pytest
from covers_drawn import draw_covers, private_cache  # noqa: F401  (autouse fixture)

from graphrec.covers import describe_covers, read_cover_folder
from graphrec.covers.genre import (
    GenreModel,
    KNNGenre,
    cross_validate,
    make_classifier,
    predict,
    train_genre_model,
)
from graphrec.errors import InputError, ModelFormatError

FAST = {"knn": {}, "boost": {"n_estimators": 30, "min_child_samples": 3, "threads": 1}, "mlp": {"epochs": 30, "batch_size": 16}}


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """HSV histograms of drawn covers: 12 per genre to train on, 6 new ones per genre to test on."""
    cache = tmp_path_factory.mktemp("cache")
    train = read_cover_folder(draw_covers(tmp_path_factory.mktemp("train"), per_genre=12, seed=1), show_progress=False)
    test = read_cover_folder(draw_covers(tmp_path_factory.mktemp("test"), per_genre=6, seed=2), show_progress=False)
    _, x_train, _ = describe_covers(train, "hsv_hist", cache_dir=cache, show_progress=False)
    _, x_test, _ = describe_covers(test, "hsv_hist", cache_dir=cache, show_progress=False)
    return train, x_train, test, x_test


@pytest.mark.parametrize("name", ["knn", "boost", "mlp"])
def test_classifies_new_drawn_covers(drawn, name):
    train, x_train, test, x_test = drawn
    model = make_classifier(name, **FAST[name]).fit(x_train, train.labels)
    proba = model.predict_proba(x_test)
    assert proba.shape == (18, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(predict(model, x_test), test.labels)


@pytest.mark.parametrize("name", ["knn", "boost", "mlp"])
def test_trained_on_wrong_labels_every_answer_is_wrong(drawn, name):
    # The test above must be able to fail: learn metal as country (and so on), and it answers accordingly.
    train, x_train, test, x_test = drawn
    model = make_classifier(name, **FAST[name]).fit(x_train, (train.labels + 1) % 3)
    np.testing.assert_array_equal(predict(model, x_test), (test.labels + 1) % 3)


def test_knn_majority_vote_and_tie_break():
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    y = np.array([0, 0, 0, 1, 1])
    model = KNNGenre(k=3).fit(x, y)
    assert predict(model, np.array([[0.5], [10.5]])).tolist() == [0, 1]  # 10.5: 10 and 11 outvote 2
    assert predict(KNNGenre(k=5).fit(x, y), np.array([[10.5]])).tolist() == [0]  # all five vote: 3 to 2
    two = KNNGenre(k=2).fit(np.array([[0.0], [3.0]]), np.array([1, 0]))
    assert predict(two, np.array([[1.0], [2.5]])).tolist() == [1, 0]  # one vote each: the nearer voter wins


def test_cross_validation_on_drawn_covers(drawn):
    train, x_train, _, _ = drawn
    result = cross_validate(lambda: make_classifier("knn", k=3), x_train, train.labels, train.genres, folds=3, seed=0)
    assert result.accuracy == 1.0 and len(result.fold_accuracy) == 3
    assert np.array_equal(result.confusion(), np.diag([12, 12, 12]))
    assert result.recall() == {"country": 1.0, "electronic": 1.0, "metal": 1.0}
    assert sorted(np.bincount(result.folds).tolist()) == [12, 12, 12]  # stratified: 4 per genre per fold
    acc, low, high = result.accuracy_interval()
    assert acc == low == high == 1.0
    assert result.chance == pytest.approx(1 / 3)


def test_interval_of_a_mixed_result_brackets_it():
    from graphrec.covers.genre import CVResult

    labels = np.zeros(400, dtype=np.int64)
    predictions = np.r_[np.zeros(100, dtype=np.int64), np.ones(300, dtype=np.int64)]
    result = CVResult(labels=labels, predictions=predictions, probabilities=np.zeros((400, 2)), folds=np.zeros(400), genres=("a", "b"))
    acc, low, high = result.accuracy_interval()
    assert acc == 0.25 and 0.2 < low < 0.25 < high < 0.3  # +-1.96 * sqrt(.25 * .75 / 400) = +-0.042


def test_cross_validation_needs_enough_covers_per_genre():
    with pytest.raises(InputError, match="5-fold"):
        cross_validate(lambda: KNNGenre(), np.zeros((6, 2)), np.array([0, 0, 0, 1, 1, 1]), ("a", "b"))


@pytest.mark.parametrize("name", ["knn", "boost", "mlp"])
def test_genre_model_round_trip_compares_every_array(tmp_path, name):
    covers = read_cover_folder(draw_covers(tmp_path / "covers", per_genre=10), show_progress=False)
    model = train_genre_model(covers, name, "hsv_hist", params=FAST[name], show_progress=False)
    loaded = GenreModel.load(model.save(tmp_path / "model"))
    before, after = model.classifier.state(), loaded.classifier.state()
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    assert loaded.genres == model.genres and loaded.featurizer_name == "hsv_hist"
    images = list(covers.paths[::7])
    np.testing.assert_allclose(loaded.predict_proba(images), model.predict_proba(images), rtol=1e-6)


def test_mlp_is_deterministic_for_a_seed(drawn):
    train, x_train, _, _ = drawn
    a = make_classifier("mlp", epochs=3, seed=5).fit(x_train, train.labels).state()
    b = make_classifier("mlp", epochs=3, seed=5).fit(x_train, train.labels).state()
    c = make_classifier("mlp", epochs=3, seed=6).fit(x_train, train.labels).state()
    np.testing.assert_array_equal(a["w1"], b["w1"])
    assert not np.array_equal(a["w1"], c["w1"])


def test_unknown_classifier_and_wrong_directory(tmp_path):
    with pytest.raises(InputError, match="knn, boost, mlp"):
        make_classifier("svm")
    with pytest.raises(ModelFormatError, match="no directory"):
        GenreModel.load(tmp_path / "nothing")


def test_a_manifest_that_does_not_fit_its_arrays_is_a_clear_error(tmp_path):
    import json

    covers = read_cover_folder(draw_covers(tmp_path / "covers", per_genre=4), show_progress=False)
    path = train_genre_model(covers, "knn", "hsv_hist", show_progress=False).save(tmp_path / "model")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["genres"] = manifest["genres"][:2]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="predicts 3 classes for 2 genres"):
        GenreModel.load(path)
    del manifest["config"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="malformed.*config"):
        GenreModel.load(path)
