"""The real-photo evaluation's pieces, with hand-worked answers."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song
from graphrec.errors import InputError
from graphrec.evaluate.photos import (
    LyricJudge,
    class_of,
    keyword_match_text,
    length_matched_random,
    score_rankings,
    song_spread,
    split_by_class,
    truth_words,
)


def _photos(counts: dict[str, int]) -> ImageSet:
    records = []
    for name, n in counts.items():
        source, cls = name.split("/")
        for i in range(n):
            records.append(ImageRecord(f"{name}/{i}.jpg", f"/x/{name}/{i}.jpg", ("雪",), (1.0,), (("source", source), ("class", cls))))
    return ImageSet(records, {})


def test_split_holds_out_a_share_of_every_class_and_is_seeded():
    photos = _photos({"w/snow": 10, "w/rain": 5, "c/cup": 2, "c/lone": 1})
    train, test = split_by_class(photos, test_fraction=0.2, seed=3)
    held = [class_of(r) for r in test]
    assert sorted(held) == ["c/cup", "w/rain", "w/snow", "w/snow"]  # 2 of 10, 1 of 5, 1 of 2, none of 1
    assert {r.id for r in train} | {r.id for r in test} == {r.id for r in photos}
    assert not {r.id for r in train} & {r.id for r in test}
    again = split_by_class(photos, test_fraction=0.2, seed=3)[1]
    assert [r.id for r in again] == [r.id for r in test]
    with pytest.raises(InputError, match="test_fraction"):
        split_by_class(photos, test_fraction=1.5)


def test_judge_reads_lyrics_and_title_subjects_but_not_stage_directions_or_tunes():
    songs = [
        Song("a", "浣溪沙", "x", "(正末云)白云飞处", source="songci"),  # 云 only... and in the lyric line 白云: relevant
        Song("b", "西江月", "x", "(正末云)我去也", source="songci"),  # 云 only in a stage direction; 月 only in the tune name
        Song("c", "雪夜", "x", "独坐到天明", source="mine"),  # 雪 in a title that says what the song is about
    ]
    judge = LyricJudge(songs)
    assert judge.relevant(["云"]).tolist() == [True, False, False]
    assert judge.relevant(["月"]).tolist() == [False, False, False]
    assert judge.relevant(["雪", "云"]).tolist() == [True, False, True]


class _Related:
    name = "fake"

    def top_n(self, word, n):
        return [("雪花", 1.0), ("飞雪", 0.9), ("冰", 0.5)][:n]

    def describe(self):
        return {"name": self.name}


def test_truth_is_the_class_words_and_their_related_words():
    assert truth_words(["雪"], _Related(), 2) == {"雪", "雪花", "飞雪"}
    assert truth_words(["雪"], None, 5) == {"雪"}


def test_precision_and_hit_rate_count_empty_places_as_misses():
    relevant = [np.array([True, False, True, False]), np.array([False, False, False, True])]
    rankings = {"m": np.array([[0, 1, -1], [3, 2, 1]]), "perfect": np.array([[0, 2, -1], [3, -1, -1]])}
    report = score_rankings(rankings, relevant, k=3, n_resamples=200)
    m = next(r for r in report.rows if r["method"] == "m")
    assert m["precision"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert m["hit_rate"] == 1.0 and m["empty_places"] == 1
    assert report.value("perfect") == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert report.chance == pytest.approx((0.5 + 0.25) / 2)
    assert m["precision_low"] <= m["precision"] <= m["precision_high"]
    with pytest.raises(InputError, match="no test photo"):
        score_rankings({"m": np.zeros((0, 3), int)}, [], k=3)


def test_paired_difference_is_per_photo_and_its_interval_is_narrower_than_the_separate_ones():
    rng = np.random.default_rng(0)
    relevant = [rng.random(50) < 0.5 for _ in range(200)]  # photos of very different difficulty
    # "better" gets between 2 and 10 relevant songs per photo; "worse" is the same with its first
    # relevant song swapped for an unused irrelevant one on every third photo
    better, worse = [], []
    for q, r in enumerate(relevant):
        good, bad = np.flatnonzero(r), np.flatnonzero(~r)
        n_good = int(rng.integers(2, 11))
        top = np.concatenate([good[:n_good], bad[: 10 - n_good]])
        better.append(top)
        swapped = top.copy()
        if q % 3 == 0:
            swapped[0] = bad[10 - n_good]
        worse.append(swapped)
    better, worse = np.array(better), np.array(worse)
    report = score_rankings({"better": better, "worse": worse}, relevant, k=10, n_resamples=500)
    mean, low, high = report.paired("better", "worse", n_resamples=500)
    assert mean == pytest.approx(report.value("better") - report.value("worse"))
    assert 0 < low <= mean <= high  # a small, consistent edge is detected by pairing
    rows = {r["method"]: r for r in report.rows}
    assert rows["better"]["precision_low"] < rows["worse"]["precision_high"]  # the separate intervals overlap
    assert report.paired("worse", "better", n_resamples=500)[0] == pytest.approx(-mean)
    with pytest.raises(KeyError, match="nope"):
        report.paired("better", "nope")


def test_keyword_match_ranks_by_summed_vote_then_popularity():
    songs = [Song(str(i), "", "", text) for i, text in enumerate(["雪与梅", "雪", "梅", "山", "雪中梅影"])]
    judge = LyricJudge(songs)
    popularity = np.array([1.0, 5.0, 9.0, 9.0, 2.0])
    out = keyword_match_text(judge, [{"雪": 1.0, "梅": 0.5}, {"海": 1.0}], 4, tie_break=popularity)
    assert out[0].tolist() == [4, 0, 1, 2]  # 1.5, 1.5 (popularity 2 beats 1), 1.0, 0.5
    assert out[1].tolist() == [-1, -1, -1, -1]  # no song sings of the sea


def test_length_matched_random_draws_songs_of_similar_length():
    lengths = np.concatenate([np.full(50, 10.0), np.full(50, 500.0)])
    reference = np.array([[0, 1, 60, 70], [99, 98, 2, -1]])
    out = length_matched_random(reference, lengths, bins=2, seed=1)
    assert (lengths[out[0]] == [10, 10, 500, 500]).all() and out[1, 3] == -1
    assert (lengths[out[1, :3]] == [500, 500, 10]).all()
    assert len(set(out[0].tolist())) == 4


def test_song_spread_measures_length_variety_and_crowding():
    ranked = np.array([[0, 1], [0, 2], [0, 3], [4, 5], [6, -1]])
    lengths = np.arange(10, dtype=float) * 10
    spread = song_spread(ranked, lengths, k=2, crowd=0.5)
    assert spread["distinct_songs"] == 7
    assert spread["max_query_share"] == pytest.approx(3 / 5)
    assert spread["queries_sharing_with_crowd"] == pytest.approx(3 / 5)
    assert spread["mean_chars"] == pytest.approx(np.mean([0, 10, 0, 20, 0, 30, 40, 50, 60]))
