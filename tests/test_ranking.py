"""The first stage's evidence and the second stage's ranking, on arrays whose right answers are obvious."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.ranking import (
    BigramCache, Evidence, PieceColumns, RankWeights, evidence_relevance, gather_evidence, group_classes, lyric_bigrams, lyric_substance, rank_songs,
    song_relevance, unit_rows,
)

VOCAB = ["雪", "林", "月"]


def _evidence(**shares: float) -> Evidence:
    """Evidence of images that each show one word, in these shares."""
    words = np.array([shares.get(w, 0.0) for w in VOCAB])
    words = words / words.sum()
    sources = [(np.array([j]), float(words[j])) for j in np.flatnonzero(words)]
    return Evidence(keywords=words, point=np.array([1.0, 0.0], np.float32), share={"images": 1.0}, sources=sources)


def _songs(spec: list[tuple[str, float]]):
    """One song per (keyword, LINE x-coordinate): keyword weight 1, vectors on the unit circle."""
    rows = [[1.0 if w == word else 0.0 for w in VOCAB] for word, _ in spec]
    vectors = unit_rows(np.array([[x, np.sqrt(max(0.0, 1 - x * x))] for _, x in spec], np.float32))
    return sp.csr_matrix(np.array(rows, np.float32)), vectors


def test_places_are_shared_in_proportion_to_the_evidence():
    # 8 snow songs all closer than any of the 4 forest songs: score alone would give 5 snow songs.
    keywords, vectors = _songs([("雪", 0.99 - i * 0.01) for i in range(8)] + [("林", 0.5 - i * 0.01) for i in range(4)])
    pool = "春夏秋冬东南西北金木水火土日月星辰山川河海风云雨雪花鸟鱼虫琴棋书画诗酒茶歌"
    lyrics = [pool[i * 3 : i * 3 + 3] * 2 for i in range(12)]  # twelve lyrics with no character pair in common
    rows, scores = rank_songs(
        _evidence(雪=0.6, 林=0.4), song_vectors=vectors, song_keywords=keywords, substance=np.ones(12, np.float32),
        lyrics=lyrics, k=5, weights=RankWeights(),
    )
    words = [VOCAB[keywords[r].indices[0]] for r in rows]
    assert sorted(words) == ["林", "林", "雪", "雪", "雪"]  # Sainte-Laguë: 3 seats to .6, 2 to .4
    assert list(scores) == sorted(scores, reverse=True)  # scores are the ranking key
    assert set(rows) >= {0, 1, 2, 8, 9}  # each keyword's best songs


def test_a_song_of_two_evidence_words_can_take_a_place_of_either():
    # snow .6, forest .4, two places: the first goes to snow, the second to forest. The song of snow and
    # forest (row 1) is farther in LINE space than the forest-only song (row 2) but sings of both words,
    # so it scores above it (relevance .6 + .4) and takes the forest place.
    keywords = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32))
    vectors = unit_rows(np.array([[x, np.sqrt(1 - x * x)] for x in (0.99, 0.5, 0.9)], np.float32))
    rows, scores = rank_songs(
        _evidence(雪=0.6, 林=0.4), song_vectors=vectors, song_keywords=keywords, substance=np.ones(3, np.float32),
        lyrics=["甲乙丙", "丁戊己", "庚辛壬"], k=2, weights=RankWeights(keywords=1.0),
    )
    assert rows.tolist() == [0, 1]
    assert scores.tolist() == pytest.approx([0.99 + 0.6 + 0.5, 0.5 + 1.0 + 0.5])


def test_relevance_counts_each_piece_of_evidence_once_whichever_of_its_words_a_song_sings_of():
    # a coast photo's neighbours: a coast image (海, 沙, 浪; weight .6) and a field image (野; .4)
    vocab = ["海", "沙", "浪", "野"]
    coast, field_ = np.array([0, 1, 2]), np.array([3])
    evidence = Evidence(keywords=np.array([0.2, 0.2, 0.2, 0.4]), point=np.zeros(2, np.float32), share={"images": 1.0},
                        sources=[(coast, 0.6), (field_, 0.4)])
    sings = [["海"], ["海", "沙", "浪"], ["野"], ["海", "野"], []]
    by_word = sp.csc_matrix(np.array([[1.0 if w in song else 0.0 for w in vocab] for song in sings], np.float32))
    # sources: a song of 海 alone fits the coast image as well as one of all three; a song of the sea and
    # of the field fits either neighbour
    assert evidence_relevance(evidence, by_word).tolist() == pytest.approx([0.6, 0.6, 0.4, 1.0, 0.0])
    # words: the coast image's weight is split over its three words
    assert evidence_relevance(evidence, by_word, "words").tolist() == pytest.approx([0.2, 0.6, 0.4, 0.6, 0.0])
    # graded relevance ('lines'): a piece counts by the best of its words the song sings of
    graded = sp.csc_matrix(np.array([[0.5, 0.875, 0, 0]], np.float32))
    assert evidence_relevance(evidence, graded).tolist() == pytest.approx([0.6 * 0.875])
    with pytest.raises(ValueError, match="sources, words"):
        evidence_relevance(evidence, by_word, "images")
    # the same from a cache of the pieces' songs, which keeps at most its size
    pieces = PieceColumns(by_word, size=1)
    assert evidence_relevance(evidence, by_word, pieces=pieces).tolist() == pytest.approx([0.6, 0.6, 0.4, 1.0, 0.0])
    assert len(pieces) == 1
    rows, best = pieces(coast)
    assert rows.tolist() == [0, 1, 3] and best.tolist() == [1.0, 1.0, 1.0]


def test_a_song_that_fits_two_neighbours_ranks_above_one_that_repeats_one_neighbours_words():
    # neighbours: a coast image (海, 浪; .6) and a field image (野; .4). Song 0 sings of 海 and 浪, song 1 of
    # 海 and 野; both are equally close in LINE space. Counting words, song 1 leads by .1 (.3 + .4 against
    # .3 + .3); counting pieces of evidence, it fits either neighbour (.6 + .4) and song 0 only one (.6).
    keywords = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1]], np.float32))
    vectors = unit_rows(np.array([[1.0, 0.0], [1.0, 0.0]], np.float32))
    evidence = Evidence(keywords=np.array([0.3, 0.3, 0.4]), point=np.array([1.0, 0.0], np.float32),
                        share={"images": 1.0}, sources=[(np.array([0, 1]), 0.6), (np.array([2]), 0.4)])
    rows, scores = rank_songs(evidence, song_vectors=vectors, song_keywords=keywords, substance=np.ones(2, np.float32),
                              lyrics=["甲乙丙", "丁戊己"], k=2, weights=RankWeights(substance=0.0))
    assert rows.tolist() == [1, 0]
    assert scores.tolist() == pytest.approx([1.0 + 3 * 1.0, 1.0 + 3 * 0.6])


def test_relevance_counts_each_word_a_song_sings_of_or_by_its_lines():
    weights = sp.csr_matrix(np.array([[1.0, 0.25, 0], [0, 0, 0.5]], np.float32))
    lines = sp.csr_matrix(np.array([[3, 1, 0], [0, 0, 2]], np.float32))
    assert song_relevance(weights, lines).toarray().tolist() == [[1, 1, 0], [0, 0, 1]]
    assert song_relevance(weights, lines, "lines").toarray() == pytest.approx(np.array([[0.875, 0.5, 0], [0, 0, 0.75]]))
    assert song_relevance(weights, None, "lines").toarray() == pytest.approx(weights.toarray())  # a model without counts
    with pytest.raises(ValueError, match="any, lines"):
        song_relevance(weights, lines, "often")


def test_one_keyword_gets_every_place_when_it_is_all_the_evidence():
    keywords, vectors = _songs([("雪", 0.9), ("林", 0.95), ("雪", 0.8), ("雪", 0.7)])
    rows, _ = rank_songs(
        _evidence(雪=1.0), song_vectors=vectors, song_keywords=keywords, substance=np.ones(4, np.float32),
        lyrics=["甲乙丙", "丁戊己", "庚辛壬", "癸子丑"], k=3, weights=RankWeights(),
    )
    assert sorted(rows.tolist()) == [0, 2, 3]


def test_a_fragment_ranks_below_a_whole_song_of_the_same_relevance():
    keywords, vectors = _songs([("雪", 0.9), ("雪", 0.9)])
    lyrics = ["雪。", "大雪纷飞满山白，寒林夜静听无声；江上孤舟钓寒雪，梅枝相映月分明。"]
    substance = lyric_substance(lyrics, target_chars=28)  # the second has 28 characters
    assert substance[0] < 0.01 and substance[1] == pytest.approx(1.0)
    assert lyric_substance(["甲" * 14, "甲" * 56, "甲" * 7], target_chars=28) == pytest.approx([0.607, 0.607, 0.135], abs=1e-3)
    rows, scores = rank_songs(
        _evidence(雪=1.0), song_vectors=vectors, song_keywords=keywords, substance=substance,
        lyrics=lyrics, k=2, weights=RankWeights(substance=0.5),
    )
    assert rows.tolist() == [1, 0] and scores[0] > scores[1]


def test_near_duplicate_lyrics_are_recommended_once():
    keywords, vectors = _songs([("雪", 0.99), ("雪", 0.98), ("雪", 0.5)])
    same = "大雪纷飞满山白寒林夜静听无声"
    lyrics = [same, same + "。", "明月几时有把酒问青天不知天上"]
    rows, _ = rank_songs(
        _evidence(雪=1.0), song_vectors=vectors, song_keywords=keywords, substance=np.ones(3, np.float32),
        lyrics=lyrics, k=2, weights=RankWeights(),
    )
    assert sorted(rows.tolist()) == [0, 2]


def test_no_evidence_ranks_nothing():
    keywords, vectors = _songs([("雪", 0.9)])
    empty = Evidence(keywords=np.zeros(3), point=np.zeros(2, np.float32))
    rows, scores = rank_songs(empty, song_vectors=vectors, song_keywords=keywords, substance=np.ones(1, np.float32),
                              lyrics=["雪"], k=3, weights=RankWeights())
    assert empty.empty and len(rows) == 0 and len(scores) == 0


def _gather(**overrides):
    image_keywords = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32))  # images: snow, forest, moon
    class_keywords = sp.csr_matrix(np.array([[0, 0, 1.0], [1.0, 0.5, 0]], np.float32))  # classes: night sky, snowy wood
    options = dict(
        image_rows=np.array([0, 1]), image_sims=np.array([0.9, 0.8]),
        image_keywords=image_keywords, image_vectors=np.eye(3, dtype=np.float32),
        class_probs=np.array([0.1, 0.7]), class_keywords=class_keywords, class_vectors=np.eye(3, dtype=np.float32)[:2],
        top_classes=5, image_temperature=0.05, image_weight=1.0, classifier_weight=1.0,
        min_image_similarity=0.0, min_class_mass=0.0,
    )
    options.update(overrides)
    return gather_evidence(**options)


def test_nearer_images_count_more_and_sources_are_weighted_by_confidence():
    images_only = _gather(class_probs=None)
    # softmax over cosines .9 and .8 at temperature .05: e^2 : 1
    assert images_only.keywords[:2] == pytest.approx([np.e**2 / (1 + np.e**2), 1 / (1 + np.e**2)])
    assert images_only.share == {"images": 1.0}
    both = _gather()
    # confidences: best image .9; the classifier's likeliest keyword 雪 gets .7 (snowy wood) -> shares .9/1.6, .7/1.6
    assert both.share["images"] == pytest.approx(0.9 / 1.6) and both.share["classifier"] == pytest.approx(0.7 / 1.6)
    assert both.classes[0] == (1, pytest.approx(0.7))  # most probable class first
    assert np.linalg.norm(both.point) == pytest.approx(1.0)
    assert both.keywords.sum() == pytest.approx(1.0)
    # the pieces of evidence: each image (softmax weights) and each class (its probability), in the
    # sources' shares, summing to 1 like the keywords
    pieces = {tuple(cols.tolist()): weight for cols, weight in both.sources}
    image_w = np.array([np.e**2, 1.0]) / (1 + np.e**2) * 0.9 / 1.6
    class_w = np.array([0.1, 0.7]) / 0.8 * 0.7 / 1.6
    assert pieces == pytest.approx({(0,): image_w[0], (1,): image_w[1], (2,): class_w[0], (0, 1): class_w[1]})
    assert sum(pieces.values()) == pytest.approx(1.0)


def test_classes_that_name_the_same_words_are_one_piece_of_evidence():
    # three dog breeds (犬) and a cat: the breeds are one piece; a class without keywords is none
    class_keywords = sp.csr_matrix(np.array([[1.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 0]], np.float32))
    evidence = _gather(class_probs=np.array([0.2, 0.2, 0.2, 0.3, 0.1]), class_keywords=class_keywords,
                       class_vectors=np.eye(3, dtype=np.float32)[[0, 0, 0, 1, 2]], image_rows=None, image_sims=None)
    pieces = {tuple(cols.tolist()): weight for cols, weight in evidence.sources}
    assert pieces == pytest.approx({(0,): 0.6 / 0.9, (1,): 0.3 / 0.9})
    # the groups, made once for many photos, give the same pieces
    groups = group_classes(class_keywords)
    assert groups.group_of.tolist() == [0, 0, 0, 1, -1] and [c.tolist() for c in groups.columns] == [[0], [1]]
    again = _gather(class_probs=np.array([0.2, 0.2, 0.2, 0.3, 0.1]), class_keywords=class_keywords, class_groups=groups,
                    class_vectors=np.eye(3, dtype=np.float32)[[0, 0, 0, 1, 2]], image_rows=None, image_sims=None)
    assert [(c.tolist(), w) for c, w in again.sources] == [(c.tolist(), w) for c, w in evidence.sources]


def test_a_source_below_its_threshold_gives_no_evidence():
    weak_images = _gather(min_image_similarity=0.95)
    assert weak_images.share == {"classifier": 1.0}
    neither = _gather(min_image_similarity=0.95, min_class_mass=0.9)
    assert neither.empty and neither.keywords.sum() == 0
    assert neither.image_confidence == pytest.approx(0.9) and neither.class_mass == pytest.approx(0.7)


def test_variety_draws_among_near_equal_songs_the_same_way_for_the_same_photo():
    # 40 snow songs of almost the same score: score order always gives the first 5 rows
    keywords, vectors = _songs([("雪", 0.9 - i * 1e-4) for i in range(40)])
    pool = "春夏秋冬东南西北金木水火土日月星辰山川河海风云雨雪花鸟鱼虫琴棋书画诗酒茶歌甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    lyrics = [pool[i * 2 : i * 2 + 2] * 3 for i in range(40)]
    options = dict(song_vectors=vectors, song_keywords=keywords, substance=np.ones(40, np.float32), lyrics=lyrics, k=5)
    plain, _ = rank_songs(_evidence(雪=1.0), weights=RankWeights(), seed=1, **options)
    assert sorted(plain.tolist()) == [0, 1, 2, 3, 4]
    drawn = {seed: tuple(sorted(rank_songs(_evidence(雪=1.0), weights=RankWeights(variety=0.1), seed=seed, **options)[0]))
             for seed in range(6)}
    again = tuple(sorted(rank_songs(_evidence(雪=1.0), weights=RankWeights(variety=0.1), seed=3, **options)[0]))
    assert again == drawn[3]  # the same photo, the same songs
    assert len(set(drawn.values())) > 3  # other photos, other songs among the equally good ones
    # a song that does not sing of the evidence never enters while enough songs do
    assert all(keywords[r].indices[0] == 0 for picks in drawn.values() for r in picks)


def test_photo_seed_ignores_float_noise():
    from graphrec.ranking import photo_seed

    features = np.random.default_rng(0).random(1280).astype(np.float32)
    assert photo_seed(features) == photo_seed(features + 1e-5)
    assert photo_seed(features) != photo_seed(features[::-1])


def test_the_ranking_is_the_same_from_csr_or_csc_and_with_closeness_relevance_and_bigrams_given_or_computed():
    rng = np.random.default_rng(7)
    n = 60
    keywords = sp.random(n, len(VOCAB), density=0.5, random_state=8, format="csr", dtype=np.float32)
    vectors = unit_rows(rng.standard_normal((n, 2)).astype(np.float32))
    chars = "春夏秋冬东南西北金木水火土日月星辰山川河海风云雨雪花鸟鱼虫琴棋书画诗酒茶歌甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    lyrics = [chars[i % 50] + chars[(i * 7) % 50] + chars[(i * 13) % 50] for i in range(n)]
    evidence = _evidence(雪=0.5, 林=0.3, 月=0.2)
    options = dict(song_vectors=vectors, substance=rng.random(n).astype(np.float32), lyrics=lyrics, k=8,
                   weights=RankWeights(variety=0.05, pool=20), seed=11)
    by_rows = rank_songs(evidence, song_keywords=keywords, **options)
    by_columns = rank_songs(evidence, song_keywords=keywords.tocsc(), **options)
    given = rank_songs(evidence, song_keywords=keywords.tocsc(), closeness=vectors @ evidence.point, **options)
    read = []
    all_given = rank_songs(evidence, song_keywords=keywords.tocsc(), closeness=vectors @ evidence.point,
                           relevance=keywords @ evidence.keywords,
                           bigrams=lambda row: read.append(row) or lyric_bigrams(lyrics[row]), **options)
    assert len(by_rows[0]) == 8
    assert set(all_given[0].tolist()) <= set(read)  # every chosen song's bigrams came from the given function
    for other in (by_columns, given, all_given):
        assert other[0].tolist() == by_rows[0].tolist()
        np.testing.assert_allclose(other[1], by_rows[1], rtol=1e-6)
    # and the closeness is used: pushing one song's to 10 puts it first
    pushed = vectors @ evidence.point
    carrier = int(np.flatnonzero(keywords.tocsc()[:, 0].toarray().ravel())[-1])
    pushed[carrier] = 10.0
    assert rank_songs(evidence, song_keywords=keywords, closeness=pushed, **options)[0][0] == carrier
    # and so is the relevance
    boosted = keywords @ evidence.keywords
    boosted[carrier] = 10.0
    assert rank_songs(evidence, song_keywords=keywords, relevance=boosted, **options)[0][0] == carrier


def test_the_bigram_cache_gives_each_row_its_lyric_bigrams_and_stays_within_its_size():
    lyrics = ["大雪，纷飞", "明月几时有", "大雪纷飞"]
    cache = BigramCache(lyrics, size=2)
    assert cache(0) == lyric_bigrams(lyrics[0]) == frozenset({"大雪", "雪纷", "纷飞"})  # punctuation skipped
    assert cache(2) == cache(0)  # the same letters, the same bigrams
    assert len(cache) == 2
    assert cache(1) == lyric_bigrams(lyrics[1]) and len(cache) <= 2
