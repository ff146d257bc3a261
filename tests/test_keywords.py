"""Keyword extraction: known answers on a hand-made corpus whose counts can be worked out by hand."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from graphrec.data.songs import Song, SongCorpus
from graphrec.errors import CorpusError, InputError
from graphrec.text import keywords as kwmod
from graphrec.text.keywords import KeywordConfig, extract_keywords, tokenize
from graphrec.text.stopwords import chinese_stopwords, english_stopwords, imagery_words


def corpus(*lyrics: str, source: str = "test") -> SongCorpus:
    return SongCorpus([Song(chr(ord("a") + i), "", "", text, None, source) for i, text in enumerate(lyrics)])


# 雪 in 3 songs, 月 and 花 in 2, 酒 in 1; 人/之/不 are stopwords; song d has nothing informative
HAND = corpus("雪，雪，月", "雪，花", "雪，月，人，人，人，人，人", "之，不，人，之", "花，酒")


def cfg(**kw) -> KeywordConfig:
    return KeywordConfig(**{"cache_dir": "", "workers": 1, "min_df": 1, **kw})


def row(result, song_id: str) -> dict[str, float]:
    return dict(result.keywords_of(song_id))


def test_vocabulary_is_the_most_frequent_informative_words():
    result = extract_keywords(HAND, cfg(k=3, method="count"))
    assert result.vocabulary == ["雪", "月", "花"]  # df 3, 2, 2; 月/花 tie on count too, then by code point
    assert result.stats["document_frequency"] == {"雪": 3, "月": 2, "花": 2}
    wide = extract_keywords(HAND, cfg(k=50))
    assert set(wide.vocabulary) == {"雪", "月", "花", "酒"}  # 人 之 不 are stopwords, however frequent


def test_count_weights_are_term_counts_over_the_song_maximum():
    result = extract_keywords(HAND, cfg(k=3, method="count", tf="count"))  # every occurrence counts (the paper)
    assert result.song_ids == ["a", "b", "c", "e"]
    assert row(result, "a") == {"雪": 1.0, "月": 0.5}
    assert row(result, "b") == {"雪": 1.0, "花": 1.0}
    assert row(result, "e") == {"花": 1.0}  # 酒 is outside the 3-word vocabulary
    assert result.weights.dtype == np.float32 and result.weights.shape == (4, 3)


def test_tfidf_weights_known_answer():
    result = extract_keywords(HAND, cfg(k=3, method="tfidf", tf="count"))
    idf = lambda df: math.log((1 + 5) / (1 + df)) + 1  # noqa: E731
    a = {"雪": 2 * idf(3), "月": 1 * idf(2)}
    assert row(result, "a") == {"雪": 1.0, "月": pytest.approx(a["月"] / a["雪"], rel=1e-6)}
    b = {"雪": idf(3), "花": idf(2)}
    assert row(result, "b") == {"雪": pytest.approx(b["雪"] / b["花"], rel=1e-6), "花": 1.0}
    assert result.weights.max() == pytest.approx(1.0) and result.weights.data.min() > 0


def test_songs_without_a_vocabulary_word_are_dropped_and_counted():
    result = extract_keywords(HAND, cfg(k=3))
    assert result.dropped_song_ids == ["d"]
    assert result.stats["songs_in"] == 5 and result.stats["songs_kept"] == 4 and result.stats["songs_dropped"] == 1


def test_given_vocabulary_counts_words_inside_compounds_and_keeps_order():
    songs = corpus("明月照大雪", "桃花", "人人人")
    result = extract_keywords(songs, cfg(vocabulary=("花", "月", "雪", "人")))
    assert result.vocabulary == ["花", "月", "雪", "人"]
    assert result.stats["vocabulary_source"] == "given"
    assert set(row(result, "a")) == {"月", "雪"}  # 明月 counts for 月, 大雪 for 雪
    assert set(row(result, "b")) == {"花"}
    assert set(row(result, "c")) == {"人"}  # a given word counts even when it is a stopword
    assert result.dropped_song_ids == []


def test_textrank_weights_are_in_unit_interval_with_row_max_one():
    songs = corpus("雪，月，雪，花，雪", "月。", "花，月")
    result = extract_keywords(songs, cfg(method="textrank", vocabulary=("雪", "月", "花")))
    assert result.song_ids == ["a", "b", "c"]
    dense = result.weights.toarray()
    assert np.allclose(dense.max(axis=1), 1.0) and dense.min() >= 0
    assert row(result, "a")["雪"] == 1.0 and row(result, "a")["月"] < 1.0  # 雪 has the most neighbours
    assert row(result, "b") == {"月": 1.0}  # a lone word gets the full weight


def test_tune_name_titles_are_left_out():
    ci = SongCorpus([Song("s", "蝶恋花", "", "月，雪", None, "songci"), Song("t", "花", "", "月", None, "mine")])
    result = extract_keywords(ci, cfg(vocabulary=("花", "月", "雪")))
    assert "花" not in row(result, "s")  # the tune name is not content
    assert "花" in row(result, "t")  # a user's title is


def test_tokenize_filters_stopwords_english_and_numbers():
    assert tokenize("The rain falls on the river, rain again 2024!") == ["rain", "falls", "river", "rain"]
    tokens = tokenize("明月几时有，把酒问青天")
    assert "明月" in tokens and "几时" not in tokens and "有" not in tokens and "把酒" not in tokens  # 把酒 is a verb
    songs = corpus("把酒问月", "花费")
    result = extract_keywords(songs, cfg(k=5))
    assert set(row(result, "a")) >= {"酒", "月"}  # imagery inside a verb still counts
    # traditional characters are read too, and keyworded in Simplified, the vocabulary's script
    assert {"雪", "风", "云"} <= set(tokenize("窗外的雪，風中的雲"))
    assert "風" in tokenize("窗外的雪，風中的雲", KeywordConfig(simplify=False, cache_dir=""))


def test_word_lists_are_loaded():
    assert {"之", "乎", "者", "也", "不", "人", "何"} <= chinese_stopwords()
    assert {"the", "i'm"} <= english_stopwords()
    assert {"雪", "月", "花", "风", "梅", "柳"} <= set(imagery_words())
    assert not set(imagery_words()) & chinese_stopwords()


def test_cache_and_workers_give_the_same_result(tmp_path, monkeypatch):
    songs = corpus(*["雪，月，花。" * (1 + i % 3) + "酒" * (i % 2) for i in range(40)])
    base = extract_keywords(songs, cfg(k=4))
    cold = extract_keywords(songs, cfg(k=4, cache_dir=str(tmp_path)))
    warm = extract_keywords(songs, cfg(k=4, cache_dir=str(tmp_path)))
    assert cold.stats["segmentation"]["segmented"] == 6 and cold.stats["segmentation"]["cache_hits"] == 0  # 6 distinct texts
    assert warm.stats["segmentation"]["segmented"] == 0 and warm.stats["segmentation"]["cache_hits"] == 40
    monkeypatch.setattr(kwmod, "_POOL_MIN_TEXTS", 1)
    pooled = extract_keywords(songs, cfg(k=4, workers=2))
    assert pooled.stats["segmentation"]["workers"] == 2
    for other in (cold, warm, pooled):
        assert other.vocabulary == base.vocabulary and other.song_ids == base.song_ids
        assert (other.weights != base.weights).nnz == 0


def test_config_is_validated_and_json_serialisable():
    for bad in ({"method": "bm25"}, {"k": 0}, {"vocabulary": ()}, {"vocabulary": "雪月"}, {"workers": -1}, {"single_chars": "all"}):
        with pytest.raises(ValueError):
            KeywordConfig(**bad)
    config = KeywordConfig(vocabulary=["雪", "月"])  # a list from JSON becomes a tuple
    assert config.vocabulary == ("雪", "月")
    assert json.loads(json.dumps(dataclasses.asdict(config)))["vocabulary"] == ["雪", "月"]


def test_errors_for_empty_and_keywordless_corpora():
    with pytest.raises(CorpusError, match="empty"):
        extract_keywords(SongCorpus([]), cfg())
    with pytest.raises(InputError, match="no informative keyword"):
        extract_keywords(corpus("之乎者也", "不不不"), cfg())
    with pytest.raises(InputError, match="none of the 1 songs"):
        extract_keywords(corpus("雪"), cfg(vocabulary=("月",)))
