"""Song corpus readers: known answers on tiny hand-made files; the shipped corpus against counts.json."""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import math
from pathlib import Path

import pytest

from graphrec.data.songs import (
    Song,
    SongCorpus,
    clean_lyrics,
    load_default_songs,
    read_classical,
    read_songs,
    read_songs_csv,
    read_songs_jsonl,
    write_songs_jsonl,
)
from graphrec.errors import CorpusError

MANDOPOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mandopop-tw" / "TW_lyrics.csv"


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


SONGS = [
    Song("a1", "雪", "甲", "大雪纷飞\n满山白", 3.5, "mine"),
    Song("a2", "雪", "乙", "Rain on the river\nrain again", None, "mine"),
    Song("a3", "月亮代表我的心", "鄧麗君", "你問我愛你有多深\n我愛你有幾分", 0.0, "mine"),
]


def test_csv_round_trip_keeps_every_field(tmp_path):
    path = write_csv(
        tmp_path / "songs.csv",
        ["id", "title", "artist", "lyrics", "popularity"],
        [[s.id, s.title, s.artist, s.lyrics, "" if s.popularity is None else s.popularity] for s in SONGS],
    )
    corpus = read_songs(path)
    assert [(s.id, s.title, s.artist, s.lyrics, s.popularity) for s in corpus] == [
        (s.id, s.title, s.artist, s.lyrics, s.popularity) for s in SONGS
    ]
    assert all(s.source == "songs.csv" for s in corpus)
    assert corpus.by_id("a3").artist == "鄧麗君"
    with pytest.raises(KeyError, match="nope"):
        corpus.by_id("nope")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.xz"])
def test_jsonl_round_trip_compressed_or_not(tmp_path, suffix):
    path = tmp_path / f"songs{suffix}"
    write_songs_jsonl(SONGS, path)
    raw = path.read_bytes()
    if suffix.endswith(".gz"):
        assert gzip.decompress(raw)
    elif suffix.endswith(".xz"):
        assert lzma.decompress(raw)
    corpus = read_songs(path)
    assert list(corpus) == SONGS  # source is kept from the file, so equal in full


def test_csv_gz_is_read(tmp_path):
    plain = write_csv(tmp_path / "x.csv", ["title", "lyrics"], [["t", "雪落"]])
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_songs(gz)[0].lyrics == "雪落"


def test_repeated_titles_get_distinct_stable_ids(tmp_path):
    path = write_csv(tmp_path / "mine.csv", ["title", "artist", "lyrics"], [["浣溪沙", "甲", "一"], ["浣溪沙", "乙", "二"], ["浣溪沙", "丙", "三"]])
    ids = [s.id for s in read_songs_csv(path)]
    assert ids == ["mine:00000", "mine:00001", "mine:00002"]
    assert ids == [s.id for s in read_songs_csv(path)]


def test_duplicate_ids_name_both_lines(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["id", "title", "lyrics"], [["x", "a", "雪"], ["x", "b", "月"]])
    with pytest.raises(CorpusError, match=r"line 3.*line 2"):
        read_songs_csv(path)


def test_gbk_file_is_an_error_naming_file_line_and_fix(tmp_path):
    path = write_csv(tmp_path / "gbk.csv", ["id", "title", "lyrics"], [["1", "a", "abc"], ["2", "雪", "大雪纷飞"]], encoding="gbk")
    with pytest.raises(CorpusError) as info:
        read_songs(path)
    message = str(info.value)
    assert "gbk.csv" in message and "line 3" in message and "GB18030" in message and "UTF-8" in message


def test_utf16_file_is_an_error(tmp_path):
    path = write_csv(tmp_path / "u16.csv", ["id", "title", "lyrics"], [["1", "雪", "雪"]], encoding="utf-16")
    with pytest.raises(CorpusError, match="UTF-16.*iconv"):
        read_songs(path)


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "m.csv", ["id", "title", "artist"], [["1", "a", "b"]])
    with pytest.raises(CorpusError, match=r"m\.csv.*line 1.*missing column.*'lyrics'"):
        read_songs(path)


def test_empty_corpus_is_an_error(tmp_path):
    header_only = write_csv(tmp_path / "h.csv", ["id", "title", "lyrics"], [])
    with pytest.raises(CorpusError, match="no songs"):
        read_songs(header_only)
    blank = tmp_path / "b.csv"
    blank.write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty"):
        read_songs(blank)
    only_empty_lyrics = write_csv(tmp_path / "e.csv", ["title", "lyrics"], [["a", "  "], ["b", "Lyrics not found"]])
    with pytest.raises(CorpusError, match="no songs"):
        read_songs(only_empty_lyrics)
    with pytest.raises(CorpusError, match="no songs"):
        read_songs_jsonl(_write(tmp_path / "e.jsonl", "\n\n"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_json_line_is_named(tmp_path):
    path = _write(tmp_path / "bad.jsonl", '{"title": "a", "lyrics": "雪"}\n{"title": "b", "lyrics": \n')
    with pytest.raises(CorpusError, match=r"bad\.jsonl.*line 2.*not valid JSON"):
        read_songs(path)
    path = _write(tmp_path / "nokey.jsonl", '{"title": "a"}\n')
    with pytest.raises(CorpusError, match=r"line 1.*missing key.*lyrics"):
        read_songs(path)


def test_bad_popularity_and_unknown_suffix(tmp_path):
    path = write_csv(tmp_path / "p.csv", ["title", "lyrics", "popularity"], [["a", "雪", "lots"]])
    with pytest.raises(CorpusError, match=r"line 2.*popularity 'lots'"):
        read_songs(path)
    with pytest.raises(CorpusError, match="unknown type"):
        read_songs(_write(tmp_path / "s.txt", "x"))
    with pytest.raises(CorpusError, match="does not exist"):
        read_songs(tmp_path / "absent.csv")


def test_musixmatch_trailer_is_stripped_and_lyrics_not_found_skipped(tmp_path):
    lyrics = "第一句\n第二句\n\n...\n\n******* This Lyrics is NOT for Commercial use *******\n(1409624446303)"
    assert clean_lyrics(lyrics) == "第一句\n第二句"
    path = write_csv(tmp_path / "mx.csv", ["Track Name", "Artist Name", "Lyrics"], [["說好不哭", "Jay Chou", lyrics], ["x", "y", "Lyrics not found"]])
    corpus = read_songs(path)
    assert len(corpus) == 1 and corpus[0].lyrics == "第一句\n第二句" and corpus[0].artist == "Jay Chou"
    assert corpus.provenance["skipped"] == {"empty lyrics": 1}


@pytest.mark.skipif(not MANDOPOP.exists(), reason="../shared/data/mandopop-tw not present")
def test_mandopop_csv_reads_as_is():
    corpus = read_songs(MANDOPOP)
    assert len(corpus) + sum(corpus.provenance["skipped"].values()) == 1240
    assert len(corpus) > 1000
    assert not any("Commercial" in s.lyrics or s.lyrics.rstrip().endswith(")") and "(14" in s.lyrics[-20:] for s in corpus)
    assert sum(s.lyrics.endswith("\n...") for s in corpus) == 0  # the excerpt marker went with the notice


# ------------------------------------------------------------------------------ classical fixture


def _ci(author: str, tune: str, *lines: str) -> dict:
    return {"author": author, "rhythmic": tune, "paragraphs": list(lines)}


def _rank(author: str, tune: str, baidu: int) -> dict:
    return {"author": author, "rhythmic": tune, "baidu": baidu, "so360": 1, "bing": 2, "bing_en": 3, "google": 4}


def make_classical(root: Path) -> Path:
    (root / "songci").mkdir(parents=True)
    (root / "rank" / "ci").mkdir(parents=True)
    (root / "yuanqu").mkdir()
    (root / "shijing").mkdir()
    dump = lambda p, obj: p.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")  # noqa: E731
    # file 0: position match, author with a rare character lost in the rank file, one with no rank entry
    dump(root / "songci" / "ci.song.0.json", [_ci("甲", "浣溪沙", "雪落。"), _ci("王庭珪", "临江仙", "月明。"), _ci("乙", "浣溪沙", "花开。")])
    dump(root / "rank" / "ci" / "ci.song.rank.0.json", [_rank("甲", "浣溪沙", 99), _rank("王庭", "临江仙", 9), _rank("丙", "菩萨蛮", 5)])
    # file 2: the rank file lacks its first entry, so the rest is shifted by one
    dump(root / "songci" / "ci.song.2.json", [_ci("丁", "西江月", "风起。"), _ci("戊", "西江月", "云飞。")])
    dump(root / "rank" / "ci" / "ci.song.rank.2.json", [_rank("戊", "西江月", 0)])
    # file 10: no rank file at all; numbered after file 2 (a text sort would put it first)
    dump(root / "songci" / "ci.song.10.json", [_ci("己", "浣溪沙", "雨。"), _ci("庚", "浣溪沙")])
    dump(root / "yuanqu" / "yuanqu.json", [{"author": "关汉卿", "title": "曲一", "paragraphs": ["酒。"]}, {"author": "x", "title": "空", "paragraphs": []}])
    dump(root / "shijing" / "shijing.json", [{"title": "关雎", "chapter": "国风", "section": "周南", "content": ["关关雎鸠，在河之洲。"]}])
    return root


def test_classical_reader_on_fixture(tmp_path):
    corpus = read_classical(make_classical(tmp_path / "cp"))
    assert [s.id for s in corpus] == [
        "songci:00000", "songci:00001", "songci:00002", "songci:00003", "songci:00004", "songci:00005",
        "yuanqu:00000", "shijing:000",
    ]  # songci:00006 (no text) and yuanqu:00001 (no text) are skipped; ids keep their positions
    assert [s.title for s in corpus][:3] == ["浣溪沙", "临江仙", "浣溪沙"]
    assert corpus[0].lyrics == "雪落。" and corpus[0].source == "songci"
    pops = [s.popularity for s in corpus]
    assert pops[0] == pytest.approx(math.log1p(99))
    assert pops[1] == pytest.approx(math.log1p(9))  # 王庭珪 -> 王庭
    assert pops[2] is None  # 乙 浣溪沙 is not in the rank file
    assert pops[3] is None  # 丁 is missing from rank file 2
    assert pops[4] == pytest.approx(0.0)  # 戊 found one position earlier
    assert pops[5] is None and pops[6] is None and pops[7] is None
    prov = corpus.provenance
    assert prov["rank_join"] == {"position": 1, "author_truncated": 1, "nearby": 1, "unmatched": 2, "no_rank_file": 2}
    assert prov["counts"] == {"songci": 6, "yuanqu": 1, "shijing": 1}
    assert prov["skipped"] == {"songci: empty": 1, "yuanqu: empty": 1}
    assert corpus[-1].artist == "诗经·国风·周南"
    assert read_songs(tmp_path / "cp").ids == corpus.ids  # a folder dispatches to read_classical


def test_classical_reader_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_classical(tmp_path / "nothing")
    root = make_classical(tmp_path / "cp")
    with pytest.raises(CorpusError, match="unknown classical part"):
        read_classical(root, parts=("tang",))
    (root / "shijing" / "shijing.json").write_text("[{", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"shijing\.json.*line 1"):
        read_classical(root)
    assert len(read_classical(root, parts=("songci",))) == 6


def test_shipped_corpus_matches_what_make_data_wrote():
    from graphrec.data.bundled import COUNTS_FILE

    from graphrec.data.bundled import CLASSICAL_SONGS

    counts = json.loads(COUNTS_FILE.read_text(encoding="utf-8"))["songs"]
    raw = read_songs_jsonl(CLASSICAL_SONGS, clean=False)  # the file holds the source text; cleaning is on read
    assert len(raw) == counts["songs"]
    by_source: dict[str, int] = {}
    for s in raw:
        by_source[s.source] = by_source.get(s.source, 0) + 1
    assert by_source == counts["by_source"]
    assert sum(s.popularity is not None for s in raw) == counts["with_popularity"]
    corpus = load_default_songs()
    assert len(corpus) == counts["loaded"]["songs"]
    assert corpus.provenance["skipped"] == counts["loaded"]["skipped"]
    assert corpus.provenance["cleaning"] == counts["loaded"]["cleaning"]
    assert corpus.by_id("shijing:000").title == "关雎"
    assert len(set(corpus.ids)) == len(corpus)


def test_song_corpus_rejects_repeated_ids():
    with pytest.raises(CorpusError, match="'x' is used twice"):
        SongCorpus([Song("x", "a", "", "雪"), Song("x", "b", "", "月")])


def test_readers_clean_on_read_and_record_what_was_removed(tmp_path):
    path = write_csv(
        tmp_path / "mine.csv",
        ["title", "lyrics", "tune"],
        [
            ["浣溪沙・春景", "[00:01.00]春风吹\n春风吹 (x2)", ""],  # the tune column is there and empty: no tune
            ["无题", "(正末云)你来也。\n(唱)月明中。", "鹧鸪天"],
            ["空", "(正末云)只是说话。", ""],
        ],
    )
    corpus = read_songs(path)
    assert [(s.lyrics, s.tune) for s in corpus] == [("春风吹\n春风吹", ""), ("月明中。", "鹧鸪天")]
    assert corpus.provenance["skipped"] == {"empty after cleaning": 1}
    rules = corpus.provenance["cleaning"]["rules"]
    assert rules["timestamp"] == {"songs": 1, "removed": 1, "chars": 10}
    assert rules["spoken"]["songs"] == 2 and rules["chorus_mark"]["removed"] == 1
    raw = read_songs(path, clean=False)
    assert len(raw) == 3 and raw[0].lyrics.startswith("[00:01.00]") and "cleaning" in raw.provenance
    # without a tune column the tune is found in the title
    auto = read_songs(write_csv(tmp_path / "auto.csv", ["title", "lyrics"], [["浣溪沙・春景", "雪"], ["雪", "雪"]]))
    assert [s.tune for s in auto] == ["浣溪沙", ""]


def test_classical_reader_cleans_each_part_and_keeps_tunes(tmp_path):
    root = make_classical(tmp_path / "cp")
    (root / "yuanqu" / "yuanqu.json").write_text(
        json.dumps(
            [
                {"author": "关汉卿", "title": "某剧・仙吕/点绛唇", "paragraphs": ["(正末唱)酒。", "(下)"]},
                {"author": "x", "title": "某剧・混江龙", "paragraphs": ["(正末云)只有说白。"]},
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    corpus = read_classical(root)
    assert corpus.by_id("songci:00000").tune == "浣溪沙"
    qu = corpus.by_id("yuanqu:00000")
    assert (qu.lyrics, qu.tune, qu.title) == ("酒。", "仙吕/点绛唇", "某剧・仙吕/点绛唇")
    assert corpus.provenance["skipped"] == {"songci: empty": 1, "yuanqu: empty after cleaning": 1}
    assert corpus.provenance["cleaning"]["rules"]["speaker_cue"] == {"songs": 2, "removed": 2, "chars": 10}
    raw = read_classical(root, clean=False)
    assert raw.by_id("yuanqu:00000").lyrics == "(正末唱)酒。\n(下)" and raw.by_id("yuanqu:00000").tune == ""
