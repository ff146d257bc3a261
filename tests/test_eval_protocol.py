"""The hit-rate protocol: split, ground truth, and a whole run on a hand-made model."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.data.images import ImageRecord, ImageSet
from graphrec.errors import InputError
from graphrec.evaluate.protocol import evaluate_hit_rate, evaluate_rankings, ground_truth, split_images


class TableRelated:
    """A related-words source from a dict, strongest first."""

    name = "table"

    def __init__(self, table):
        self.table = table
        self.calls = 0

    def top_n(self, word, n):
        self.calls += 1
        return [(w, 1.0) for w in self.table.get(word, [])][:n]

    def describe(self):
        return {"name": self.name}


RELATED = TableRelated({"雪": ["冰", "寒", "白", "冬"], "月": ["夜", "光"], "花": ["春", "红"]})


def _images(n):
    return ImageSet([ImageRecord(id=f"img{i}", path=f"/nowhere/{i}.png", keywords=("雪",), weights=(1.0,)) for i in range(n)], {"source": "test"})


def test_split_is_seeded_disjoint_and_keeps_order():
    images = _images(20)
    split = split_images(images, test_fraction=0.25, seed=3)
    train_ids, test_ids = [r.id for r in split.train], [r.id for r in split.test]
    assert len(test_ids) == 5 and len(train_ids) == 15
    assert not set(train_ids) & set(test_ids)
    assert sorted(train_ids + test_ids) == sorted(r.id for r in images)
    assert train_ids == [r.id for r in images if r.id in set(train_ids)]  # input order kept
    assert [r.id for r in split_images(images, test_fraction=0.25, seed=3).test] == test_ids
    assert [r.id for r in split_images(images, test_fraction=0.25, seed=4).test] != test_ids
    assert len(split_images(images, test_fraction=0.5, seed=0, max_test=3).test) == 3
    with pytest.raises(InputError, match="at least one"):
        split_images(_images(1), test_fraction=0.5)


def test_ground_truth_is_keywords_plus_top_n_related():
    assert ground_truth(["雪", "月"], RELATED, 0) == {"雪", "月"}
    assert ground_truth(["雪", "月"], RELATED, 2) == {"雪", "冰", "寒", "月", "夜", "光"}
    assert ground_truth(["无"], RELATED, 5) == {"无"}


def test_evaluate_rankings_known_answer_for_each_n():
    # q0 keywords 雪: its method-A list has 白 (3rd related word) at rank 1 and 雪 itself at rank 3.
    # q1 keywords 月: 夜 (1st related word) at rank 2.
    words = {"a": {"白"}, "b": {"夜"}, "c": {"雪"}, "d": {"红"}}
    rankings = {"A": [["a", "d", "c"], ["d", "b", "a"]], "B": [["d", "d", "d"], ["d", "d", "d"]]}
    report = evaluate_rankings(rankings, [("雪",), ("月",)], RELATED, {"keywords": words.__getitem__}, ns=(1, 3), ks=(1, 2, 3))
    # n=1: truths {雪, 冰} and {月, 夜}: q0 hits at rank 3, q1 at rank 2.
    assert [report.value("A", 1, k) for k in (1, 2, 3)] == [0.0, 0.5, 1.0]
    # n=3: 白 joins q0's truth, so q0 hits at rank 1.
    assert [report.value("A", 3, k) for k in (1, 2, 3)] == [0.5, 1.0, 1.0]
    assert report.value("B", 3, 3) == 0.0
    assert report.truth_sizes == {1: 2.0, 3: 3.5}
    assert report.backend == {"name": "table"} and report.queries == 2
    row = next(r for r in report.rows if (r["method"], r["n"], r["k"]) == ("A", 1, 2))
    assert row == {"method": "A", "variant": "keywords", "n": 1, "k": 2, "hit_rate": 0.5, "hits": 1, "queries": 2}


def _fake_model():
    """A duck-typed model: 2 training images (snow at x=0, moon at x=10), 4 songs."""
    song_ids = ["snow-a", "snow-b", "moon-a", "flower-a"]
    vocab = ["雪", "月", "花"]
    song_keywords = sp.csr_matrix(np.array([[0.9, 0, 0], [0.3, 0, 0], [0, 1.0, 0], [0, 0, 1.0]], dtype=np.float32))
    keyword_lists = {"snow-a": ["雪"], "snow-b": ["雪"], "moon-a": ["月"], "flower-a": ["花"]}

    def recommend_features(features, k):
        # "ours" in this fake: the moon song for everything, then the flower one
        return [SimpleNamespace(song_ids=np.array(["moon-a", "flower-a"][:k], dtype=object)) for _ in features]

    return SimpleNamespace(
        song_ids_=song_ids,
        vocabulary_=vocab,
        image_ids_=["train-snow", "train-moon"],
        image_features_=np.array([[0.0], [10.0]], dtype=np.float32),
        image_keywords_=sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32)),
        song_keywords_=song_keywords,
        popularity_=np.array([1.0, 50.0, np.nan, 3.0]),
        config=SimpleNamespace(recommend=SimpleNamespace(k_images=1)),
        recommend_features=recommend_features,
        prepare_features=lambda features: np.asarray(features, dtype=np.float32),  # feature_norm "none"
        song_keyword_list=lambda song_id: keyword_lists[song_id],
    )


def test_evaluate_hit_rate_runs_every_method_on_held_out_images():
    model = _fake_model()
    test = ImageSet(
        [
            ImageRecord(id="test-snow", path="/x/1.png", keywords=("雪",), weights=(1.0,)),
            ImageRecord(id="test-moon", path="/x/2.png", keywords=("月",), weights=(1.0,)),
        ],
        {},
    )
    features = np.array([[0.5], [9.5]], dtype=np.float32)
    report = evaluate_hit_rate(model, test, features, RELATED, ns=(5,), ks=(1, 2), variants=("keywords",), seed=0)
    # KM: the nearest training image gives its keyword, so both queries hit at rank 1.
    assert report.value("KM", 5, 1) == 1.0
    assert report.rankings["KM"] == [["snow-a", "snow-b"], ["moon-a"]]
    # ours (fake): moon first -> only the moon query hits at 1; flower never helps.
    assert report.value("ours", 5, 1) == 0.5 and report.value("ours", 5, 2) == 0.5
    # POP: snow-b (50) then flower-a (3): the snow query hits at rank 1, the moon query never.
    assert report.rankings["POP"][0] == ["snow-b", "flower-a"]
    assert report.value("POP", 5, 1) == 0.5
    assert {r["method"] for r in report.rows} == {"ours", "KM", "POP", "random"}


def test_evaluate_hit_rate_refuses_test_images_inside_the_graph():
    model = _fake_model()
    leaked = ImageSet([ImageRecord(id="train-snow", path="/x/1.png", keywords=("雪",), weights=(1.0,))], {})
    with pytest.raises(InputError, match="also in the model's graph"):
        evaluate_hit_rate(model, leaked, np.zeros((1, 1), dtype=np.float32), RELATED)


def test_whole_protocol_on_a_real_tiny_model(tmp_path):
    """Built on three held-in images per theme, queried with the held-out fourth: the answers are obvious."""
    from conftest import make_images, make_songs, tiny_config

    from graphrec.recommender import Recommender

    images = make_images(tmp_path / "images")
    test_ids = {"雪/3", "月/3", "花/3"}
    train = ImageSet([r for r in images if r.id not in test_ids], {})
    test = ImageSet([r for r in images if r.id in test_ids], {})
    model = Recommender.build(make_songs(), train, tiny_config(), show_progress=False)
    features = model.featurizer.transform([r.path for r in test])
    report = evaluate_hit_rate(model, test, features, RELATED, ns=(0, 2), ks=(1, 3), seed=0, variants=("keywords",))
    # Same-colour neighbours carry the theme keyword: ours and KM hit at rank 1 for every test image.
    assert report.value("ours", 0, 1) == 1.0
    assert report.value("KM", 0, 1) == 1.0
    # POP recommends the same list to all: popularity 10*i + 1 peaks at the i=3 songs, ties to the first (雪-3).
    assert report.rankings["POP"][0][0] == "雪-3"
    assert report.value("POP", 0, 1) == pytest.approx(1 / 3)
    assert report.queries == 3


def test_song_word_variants_keywords_and_top3():
    from graphrec.evaluate.protocol import song_word_functions

    model = SimpleNamespace(song_keyword_list=lambda song_id: ["风", "花", "雪", "月"])  # strongest first
    words = song_word_functions(model, ("keywords", "top3"))
    assert words["keywords"]("s") == {"风", "花", "雪", "月"}
    assert words["top3"]("s") == {"风", "花", "雪"}
    with pytest.raises(InputError, match="unknown variant"):
        song_word_functions(model, ("titles",))


def test_report_files_record_the_run(tmp_path):
    import csv

    from graphrec.evaluate.report import hit_rate_markdown, plot_hit_rate_vs_n, run_metadata, write_csv

    rows = [
        {"method": m, "variant": "keywords", "n": n, "k": 10, "hit_rate": v, "hits": 1, "queries": 2}
        for m, v in (("ours", 0.5), ("KM", 1.0)) for n in (5, 10)
    ]
    meta = run_metadata(seed=7, featurizer="hsv_hist", related_backend={"name": "table"}, data="tiny")
    assert meta["git_commit"] and meta["seed"] == 7
    write_csv(tmp_path / "r.csv", rows, {"seed": 7, "git_commit": meta["git_commit"], "related_backend": "table"})
    with open(tmp_path / "r.csv", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4 and table[0]["seed"] == "7" and table[0]["related_backend"] == "table"
    md = hit_rate_markdown(rows, meta, ns=(5, 10), ks=(10,), methods=("ours", "KM"), variants=("keywords",))
    assert "| Ours (graph + LINE), this run | 0.500 | 0.500 |" in md
    assert "| Ours (graph + LINE), paper | 0.913 | 0.918 |" in md
    assert "**seed**: 7" in md and "**git_commit**" in md
    png = plot_hit_rate_vs_n(tmp_path / "p.png", rows, meta, ns=(5, 10), methods=("ours", "KM"))
    assert png.read_bytes().startswith(b"\x89PNG")


def test_kfold_tests_every_image_once_and_pooling_sums_hits():
    from graphrec.evaluate.protocol import HitRateReport, kfold_splits, pool_reports

    images = _images(10)
    splits = kfold_splits(images, 3, seed=1)
    tested = [r.id for s in splits for r in s.test]
    assert sorted(tested) == sorted(r.id for r in images)
    assert [len(s.test) for s in splits] == [4, 3, 3]
    assert all(not {r.id for r in s.train} & {r.id for r in s.test} for s in splits)
    with pytest.raises(InputError, match="folds"):
        kfold_splits(images, 1)
    row = {"method": "ours", "variant": "keywords", "n": 5, "k": 10}
    a = HitRateReport([{**row, "hit_rate": 0.5, "hits": 2, "queries": 4}], {"name": "t"}, 4, {5: 6.0}, {"ours": [["x"]] * 4})
    b = HitRateReport([{**row, "hit_rate": 1.0, "hits": 6, "queries": 6}], {"name": "t"}, 6, {5: 1.0}, {"ours": [["y"]] * 6})
    pooled = pool_reports([a, b])
    assert pooled.value("ours", 5, 10) == pytest.approx(0.8)  # (2 + 6) / (4 + 6), not the mean of 0.5 and 1.0
    assert pooled.queries == 10 and pooled.truth_sizes == {5: pytest.approx(3.0)}
    assert len(pooled.rankings["ours"]) == 10
