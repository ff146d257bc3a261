"""Sense-aware keywords: hand-answered lines (real ci and qu lines of the shipped corpus, made-up modern
ones), the sense list itself, centrality weights, Traditional input, and the mandopop-tw file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphrec.data.songs import Song, SongCorpus
from graphrec.text.keywords import KeywordConfig, extract_keywords, keyword_counts
from graphrec.text.senses import SenseTable, _parse, scope_of, sense_exceptions, strip_named_works
from graphrec.text.stopwords import imagery_words

MANDOPOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mandopop-tw" / "TW_lyrics.csv"
NO_CACHE = {"cache_dir": "", "workers": 1}


def images(line: str, source: str) -> set[str]:
    """The imagery words a line gives (what can become a keyword), by the default rules."""
    counts = keyword_counts(line, KeywordConfig(**NO_CACHE), source=source)
    return {w for w in counts if w in imagery_words()}


# Each case: a line, where it comes from, the images it really holds (answered by reading it).
HAND = [
    # the sun, the moon: a day, a month, a time
    ("昔年多病厌芳尊，今日芳尊惟恐浅。", "songci", set()),  # songci:00011 今日 "today"
    ("知多少、他日深盟，平生丹素。", "songci", set()),  # songci:00124 他日 "some day"
    ("何况经岁月，相抛亸。", "songci", set()),  # songci:00073 岁月 "the years"
    ("三月柳枝柔似缕。", "songci", {"柳"}),  # songci:00353 三月 "the third month"
    ("无由重肯日边来，上马便、长安远。", "songci", {"马"}),  # songci:00298 日边 "the court"
    ("须信画堂绣阁，皓月清风，忍把光阴轻弃。", "songci", {"阁", "月", "风"}),  # 光阴 "time": no shade
    # another image: the sun, the moon, the Milky Way, tears, a lake, a flower, a pavilion
    ("金乌玉兔长飞走。", "songci", {"日", "月"}),  # songci:00544 the golden crow and the jade hare
    ("真珠帘卷玉楼空，天淡银河垂地。", "songci", {"珠", "帘", "玉", "楼", "天", "星"}),  # songci:00043 银河: stars, no river
    ("良夜悠悠，西风袅袅，银汉冰轮侧。", "songci", {"夜", "西风", "风", "星", "月"}),  # songci:02369 冰轮: the moon, no ice
    ("未知心在阿谁边，满眼泪珠言不尽。", "songci", {"泪"}),  # songci:00486 泪珠: tears, no pearls
    ("西塞山前渔唱远，洞庭波上雁行斜。", "songci", {"山", "湖", "波", "雁"}),  # songci:00848 Lake Dongting
    ("海棠花下醉芳菲。", "songci", {"花"}),  # songci:00318 the crabapple flower, no sea
    ("向晓雪花呈瑞。", "songci", {"晓", "雪"}),  # songci:00545 a snowflake is snow, not a flower
    ("金风淡荡，渐秋光老、清宵永。", "songci", {"风", "秋"}),  # songci:00240 金风: the autumn wind, no gold
    ("黄梅雨细多闲闷。", "songci", {"雨"}),  # songci:00711 the plum rains: rain, no plum
    ("君不见兰亭修禊事，当时坐上皆豪逸。", "songci", {"亭"}),  # songci:01463 the Orchid Pavilion (a place)
    # no image at all: a manner, a swing, a glance, hair, a mirror, a screen, years, a bit
    ("城上风光莺语乱。", "songci", {"城", "莺"}),  # songci:00011 风光 "scenery"
    ("深院无人，黄昏乍拆秋千，空锁满庭花雨。", "songci", {"院", "黄昏", "庭", "花", "雨"}),  # songci:00055 秋千 "a swing"
    ("笼画陌，乔木几春秋。", "songci", set()),  # songci:00859 春秋 "years"
    ("嗟因循、久作天涯客。", "songci", {"天涯"}),  # songci:00119 the horizon (its own image), not the sky
    ("插向绿云鬓。", "songci", set()),  # songci:00541 云鬓 "her hair"
    ("一寸秋波如剪。", "songci", set()),  # songci:00445 秋波 "her glance"
    ("菱花尘满慵将照。", "songci", set()),  # songci:00006 菱花 "a mirror"
    ("画堂人静雨濛濛，屏山半掩馀香袅。", "songci", {"雨"}),  # songci:00006 屏山 "a painted screen"
    ("文期酒会，几孤风月，屡变星霜。", "songci", {"酒"}),  # songci:00187 屡变星霜 "the years went by"
    ("早晚却重游。", "songci", set()),  # songci:00022 早晚 "some day"
    ("呸！那其间可怎生不害半星儿羞？。", "yuanqu", set()),  # yuanqu:00220 半星儿 "a bit"
    # the image is there: the list must not take it away
    ("念故人、千里自此共明月。", "songci", {"明月", "月"}),  # songci:00007
    ("长烟落日孤城闭。", "songci", {"烟", "日", "城"}),  # songci:00042 落日: the setting sun
    ("星斗分明在身畔。", "songci", {"星"}),  # songci:00020
    ("一曲白云江月满，际天拖练夜潮来。", "songci", {"云", "江", "月", "天", "夜", "潮"}),  # songci:00394
    ("枝枝叶叶离情。", "songci", {"叶"}),  # songci:01174 branches and leaves: 枝叶 only inside the idiom
    ("过却长亭烟树，云山点点，烟浪漫漫。", "songci", {"亭", "烟", "树", "云", "山", "浪"}),  # songci:15068 waves, not "romantic"
    ("仿佛梦中", "songci", set()),  # 仿佛 "as if": no Buddha (佛 is a photo-class word, checked below)
    # modern lyrics (made-up lines), Traditional characters
    ("浪漫的海邊", "mine.csv", {"海"}),  # 浪漫 "romantic"
    ("今天的天空很藍", "mine.csv", {"天", "天空"}),  # 今天 "today"; 天空 is the sky
    ("輕鬆的一天", "mine.csv", set()),  # 輕鬆 "relaxed" (鬆 -> 松, not a pine); 一天 "a day"
    ("兩個人", "mine.csv", set()),  # 兩 "two" is not 雨 "rain"
    ("窗外下著雨", "mine.csv", {"窗", "雨"}),
    ("銀河", "mine.csv", {"星"}),
    ("蕩秋千", "mine.csv", set()),
    ("黃金海岸的浪花", "mine.csv", {"金", "海", "岸", "浪"}),  # 浪花: spray of the waves, no flower
    ("夏天的海", "mine.csv", {"夏", "海"}),  # 夏天: the season
    ("正旦云你来也", "mine.csv", set()),  # a speech cue whose brackets were lost: 云 "says"
]


@pytest.mark.parametrize(("line", "source", "expected"), HAND, ids=[c[0][:12] for c in HAND])
def test_hand_answered_lines(line, source, expected):
    assert images(line, source) == expected


def test_an_included_class_word_is_not_read_inside_a_sense_compound():
    config = KeywordConfig(vocabulary=("佛",), **NO_CACHE)
    assert keyword_counts("拜佛烧香", config, source="yuanqu")["佛"] == 1
    assert "佛" not in keyword_counts("仿佛梦中", config, source="yuanqu")


def test_switching_senses_off_brings_the_characters_back():
    off = KeywordConfig(senses=False, **NO_CACHE)
    assert {"金", "玉"} <= set(keyword_counts("金乌玉兔长飞走。", off, source="songci"))
    assert "日" not in keyword_counts("金乌玉兔长飞走。", off, source="songci")
    assert "秋" in keyword_counts("黄昏乍拆秋千", off, source="songci")


def test_scopes_keep_the_era_apart():
    assert scope_of("songci") == scope_of("yuanqu") == "classical" and scope_of("mine.csv") == "modern"
    classical, modern = SenseTable("classical"), SenseTable("modern")
    assert classical.spans("浪漫") == [] and modern.spans("浪漫")  # classical 浪漫漫 is waves
    assert classical.spans("一天") == [] and modern.spans("一天")  # classical 一天星斗 is the whole sky
    assert classical.spans("菱花") and modern.spans("菱花") == []
    with pytest.raises(ValueError, match="scope"):
        SenseTable("all")  # type: ignore[arg-type]


def test_spans_inside_a_token_only_at_its_edges():
    table = SenseTable("classical")
    assert [(a, b, e.carries) for a, b, e in table.spans("金乌玉兔")] == [(0, 2, ("日",)), (2, 4, ("月",))]
    assert [(a, b) for a, b, _ in table.spans("今日里")] == [(0, 2)]
    assert table.spans("枝枝叶叶") == []


def test_the_list_is_well_formed():
    table = sense_exceptions()
    assert len(table) > 300
    for entry in table.values():
        assert entry.scope in ("all", "classical", "modern") and entry.reason
        assert all(w in imagery_words() for w in entry.carries)
        # an entry matters only if it hides an imagery character (or 佛, a photo-class word), or gives an image (银汉 -> 星)
        assert set(entry.compound) & (set("".join(imagery_words())) | {"佛"}) or entry.carries, entry
    assert table["正末云"].carries == () and "孤云" not in table and "生云" not in table  # a lone cloud, clouds rise
    with pytest.raises(ValueError, match="line 1: expected 4"):
        _parse("风流\t-\tall", "x.tsv")
    with pytest.raises(ValueError, match="not imagery words"):
        _parse("风流\t风度\tall\tmanner", "x.tsv")
    with pytest.raises(ValueError, match="listed twice"):
        _parse("风流\t-\tall\ta\n风流\t-\tall\tb", "x.tsv")


def test_named_works_are_titles_not_images():
    assert strip_named_works("一曲《阳关》情几许。") == "一曲 情几许。"  # songci:01503
    assert images("一曲《阳关》情几许。", "songci") == set()
    assert images("水晶宫里奏《霓裳》。", "songci") == set()  # songci:10394 水晶 is crystal; 霓裳 a dance


# ------------------------------------------------------------------------------ weights


def corpus(*lyrics: str, source: str = "mine") -> SongCorpus:
    return SongCorpus([Song(chr(ord("a") + i), "", "", text, None, source) for i, text in enumerate(lyrics)])


def test_line_tf_weighs_an_image_by_the_lines_it_runs_through():
    # a: 雪 three times in one line, 月 once in each of two lines; b: 雪 alone
    songs = corpus("雪雪雪\n月\n月", "雪")
    by_lines = extract_keywords(songs, KeywordConfig(vocabulary=("雪", "月"), method="count", **NO_CACHE))
    assert dict(by_lines.keywords_of("a")) == {"月": 1.0, "雪": 0.5}
    by_count = extract_keywords(songs, KeywordConfig(vocabulary=("雪", "月"), method="count", tf="count", **NO_CACHE))
    assert dict(by_count.keywords_of("a")) == {"雪": 1.0, "月": pytest.approx(2 / 3)}
    assert by_lines.stats["tf"] == "lines" and by_count.stats["tf"] == "count"


def test_blank_lines_and_title_lines_count_once_each():
    songs = SongCorpus([Song("s", "雪夜", "", "雪\n\n\n雪", None, "mine")])
    result = extract_keywords(songs, KeywordConfig(vocabulary=("雪", "夜"), method="count", **NO_CACHE))
    assert dict(result.keywords_of("s")) == {"雪": 1.0, "夜": pytest.approx(1 / 3)}  # title line + two lyric lines


def test_new_config_fields_are_validated():
    for bad in ({"tf": "words"}, {"senses": "yes"}, {"simplify": 1}, {"hmm": None}):
        with pytest.raises(ValueError):
            KeywordConfig(**bad)


def test_traditional_and_simplified_lyrics_get_the_same_keywords():
    trad = corpus("窗外的雨下個不停\n風吹過海邊", "兩個人看星星", "輕鬆的午後 花開了")
    simp = corpus("窗外的雨下个不停\n风吹过海边", "两个人看星星", "轻松的午后 花开了")
    config = KeywordConfig(vocabulary=("雨", "风", "海", "星", "花", "松"), **NO_CACHE)
    a, b = extract_keywords(trad, config), extract_keywords(simp, config)
    assert a.song_ids == b.song_ids and (a.weights != b.weights).nnz == 0
    assert set(dict(a.keywords_of("a"))) == {"雨", "风", "海"}
    assert set(dict(a.keywords_of("c"))) == {"花"}  # 輕鬆 is relaxed, not a pine
    raw = extract_keywords(trad, KeywordConfig(vocabulary=("雨", "風"), simplify=False, **NO_CACHE))
    assert "風" in dict(raw.keywords_of("a"))  # without conversion the Traditional form is its own word


def test_tune_titles_add_nothing_but_a_subtitle_does():
    songs = SongCorpus(
        [
            Song("ci", "蝶恋花", "", "月", None, "songci", "蝶恋花"),
            Song("qu", "双调・沉醉东风秋日湘阴道中", "", "山", None, "yuanqu", "双调・沉醉东风"),
            Song("play", "苏子瞻风雪贬黄州・幺篇", "", "山", None, "yuanqu", "幺篇"),
            Song("user", "浣溪沙・春景", "", "山", None, "mine", "浣溪沙"),
        ]
    )
    result = extract_keywords(songs, KeywordConfig(vocabulary=("花", "风", "秋", "雪", "春"), **NO_CACHE))
    assert result.dropped_song_ids == ["ci", "play"]  # a tune name and a play's name say nothing of the song
    assert set(dict(result.keywords_of("qu"))) == {"秋"}  # 秋日湘阴道中 is the song's subtitle; 东风 is the tune's
    assert set(dict(result.keywords_of("user"))) == {"春"}


# ------------------------------------------------------------------------------ mandopop-tw (Traditional)


@pytest.mark.skipif(not MANDOPOP.exists(), reason="../shared/data/mandopop-tw not present")
def test_mandopop_keywords_in_the_shared_vocabulary():
    from graphrec.data.songs import read_songs

    songs = read_songs(MANDOPOP)
    vocabulary = ("雨", "花", "海", "星", "风", "云", "月", "浪", "天")
    result = extract_keywords(songs, KeywordConfig(vocabulary=vocabulary, hmm=True, **NO_CACHE))
    kept = set(result.song_ids)
    has = {w: {s for s in result.song_ids if w in dict(result.keywords_of(s))} for w in vocabulary}
    text = {s.id: f"{s.title}\n{s.lyrics}" for s in songs}
    # every song that sings of rain has 雨; none of the songs with 兩 ("two") and no rain does
    rain = {i for i, t in text.items() if "雨" in t and not re.fullmatch(r"(?s)(?:[^雨]|梅雨)*", t)}
    assert len(rain) > 100 and rain <= has["雨"]
    two = {i for i, t in text.items() if "兩" in t and "雨" not in t}
    assert len(two) >= 50 and not two & has["雨"]
    assert "TW_lyrics:00004" in has["雨"] and "TW_lyrics:00051" not in has["雨"]  # 怎麼了: 雨下著; 猜不透: 兩個人
    # 浪 only where a wave is: not from 浪漫, 流浪, 浪費 alone
    waves = {i for i, t in text.items() if re.search("浪", re.sub("浪[漫費费子跡迹蕩荡]|流浪", "", t))}
    assert has["浪"] == waves & kept
    # 風 and 雲 in Traditional are keyworded as 风 and 云
    assert {i for i, t in text.items() if "風" in t and "風景" not in t} & has["风"]
    assert has["花"] and has["海"] and has["星"]
