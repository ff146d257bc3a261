"""Lyric cleaning: known answers on real lines of the shipped corpus (public-domain Yuan qu and Song ci),
one or more per rule; modern-lyric rules on made-up lines and, when ../shared is there, on mandopop-tw."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphrec.data.clean import RULES, CleaningTally, clean_lyrics, clean_song
from graphrec.data.tunes import is_tune_title, split_title

MANDOPOP = Path(__file__).resolve().parents[2] / "shared" / "data" / "mandopop-tw" / "TW_lyrics.csv"


def cleaned(text: str, source: str | None = None) -> str:
    return clean_lyrics(text, source=source).text


# ------------------------------------------------------------------------------ Yuan drama (yuanqu)

# yuanqu:09328 亻刍梅香骗翰林风月・雁儿落, first three lines
YANERLUO = (
    "呀！恼了这春风门下客。\n"
    "（白敏中云）你道我不敢打你么？（正旦云）你便是新状元呵。\n"
    "也则是俺家新女婿，怎生要打我那？（唱）则是我少欠你那脓血债。\n"
    "（白敏中云）你则管胡言乱道，端的是说谁？（正旦唱）据梅香胡口开。"
)


def test_speech_cues_and_the_dialogue_they_open_go_up_to_the_next_singing_cue():
    result = clean_lyrics(YANERLUO, source="yuanqu")
    # the spoken line in the middle (no cue of its own) is still 正旦 speaking: it goes too
    assert result.text == "呀！恼了这春风门下客。\n则是我少欠你那脓血债。\n据梅香胡口开。"
    assert result.removed == {"speaker_cue": 5, "spoken": 4}
    assert result.removed_chars["speaker_cue"] == len("（白敏中云）（正旦云）（唱）（白敏中云）（正旦唱）")
    assert result.drama


def test_dai_yun_spoken_inside_a_sung_line():
    # yuanqu:06845 金水桥陈琳抱妆盒・幺篇
    line = "传示那六宫人知严令，(带云)这金弹呵，(唱)弹落处各办虔城，分头儿自去穿芳径。"
    assert cleaned(line, "yuanqu") == "传示那六宫人知严令，弹落处各办虔城，分头儿自去穿芳径。"


def test_recited_poem_after_shi_yun_is_not_sung():
    # yuanqu:00405 庞涓夜走马陵道・醉春风: the whole line is an action and a recited poem
    result = clean_lyrics("旗开处，一阵人马来。\n(写科)(诗云)白杨树下白杨峪，正是庞涓合死处。", source="yuanqu")
    assert result.text == "旗开处，一阵人马来。"
    assert result.removed == {"stage_direction": 1, "speaker_cue": 1, "spoken": 1}


def test_entrances_exits_and_role_marks():
    # yuanqu:01854 柳絮飞; yuanqu:10199 刘夫人庆赏五侯宴・尾声 ends with an exit on its own line
    assert cleaned("(净、丑上)闻知道哥哥上坟，上坟，强如拾得珠珍，珠珍。", "yuanqu") == "闻知道哥哥上坟，上坟，强如拾得珠珍，珠珍。"
    result = clean_lyrics("他认了他嫡亲娘，你与我疾便的早些儿回。\n（下）。", source="yuanqu")
    assert result.text == "他认了他嫡亲娘，你与我疾便的早些儿回。" and result.removed == {"stage_direction": 1}
    # yuanqu:08029 前腔: southern-drama role marks in square brackets
    assert cleaned("［外］妹子自家一般，如何送许多礼采？［丑］没有什么。", "yuanqu") == "妹子自家一般，如何送许多礼采？没有什么。"


def test_a_cue_broken_over_two_lines_is_still_one_cue():
    # yuanqu:03696 罗李郎大闹相国寺・仙吕/端正好, last lines
    text = "技怎肯两三般觑。\n(苏、孟悲科。\n云)孩儿呵，也是我出于尤余。\n(正末唱)。"
    result = clean_lyrics(text, source="yuanqu")
    assert result.text == "技怎肯两三般觑。" and result.removed == {"speaker_cue": 2, "spoken": 1}


def test_chorus_marks():
    # yuanqu:00335 羽调排歌 (a chorus mark inside a line); yuanqu:01695 前腔 is only "repeat the chorus"
    result = clean_lyrics("怎地孩儿为路岐？(合)今日里，得见你，焚香子父谢神祗。", source="yuanqu")
    assert result.text == "怎地孩儿为路岐？今日里，得见你，焚香子父谢神祗。" and result.removed == {"chorus_mark": 1}
    assert clean_lyrics("(合前)。", source="yuanqu").empty


def test_a_tune_the_lyrics_name_becomes_a_title_not_a_deletion():
    # yuanqu:00686 诸宫调风月紫云庭: 〔满庭芳〕 is a song being spoken of, part of the sentence
    result = clean_lyrics("当日个为多情一曲〔满庭芳〕，曾贬得苏东坡也趁波也趁波逐浪。", source="yuanqu")
    assert result.text == "当日个为多情一曲《满庭芳》，曾贬得苏东坡也趁波也趁波逐浪。"
    assert result.removed == {"tune_quote": 1} and result.removed_chars == {"tune_quote": 0}
    # a tune name in parentheses heading a line is a section header: it goes
    assert cleaned("(鹧鸪天)宋玉才多未足称", "yuanqu") == "宋玉才多未足称"


def test_scraped_web_debris_line():
    # yuanqu:06822 双调・蟾宫曲 ends with a web page's navigation and HTTP headers
    tail = "中国诗歌库中华诗库首页,{Connection=[close],Content-Type=[text/html;charset=gb2312]}>。"
    result = clean_lyrics(f"冬景寂寥，浩然踏雪，散诞逍遥。\n{tail}", source="yuanqu")
    assert result.text == "冬景寂寥，浩然踏雪，散诞逍遥。" and result.removed == {"web_debris": 1}


def test_yuanqu_opening_words_cut_into_the_title_go_back_to_the_lyrics():
    # yuanqu:05993 (title and first lyric line as shipped): the source cut the lyrics' start into the title
    song = clean_song("幺・柔肠脉脉，新愁千万叠。偶记年前人乍别，秦台玉萧声断绝。雁底关", "河，马头明月。", source="yuanqu")
    assert song.lyrics == "柔肠脉脉，新愁千万叠。偶记年前人乍别，秦台玉萧声断绝。雁底关河，马头明月。"
    assert song.tune == "幺" and song.opening_moved
    # a title without a tune before the words is scrambled in the source: left alone
    kept = clean_song("・玉楼帘幕香风细，玉阑干杨柳依依。", "幺嘶。", source="yuanqu")
    assert kept.lyrics == "幺嘶。" and not kept.opening_moved


def test_a_play_in_a_user_file_is_recognised_by_its_cues():
    assert clean_lyrics(YANERLUO).drama  # no source: the (正旦唱) cue gives it away
    assert cleaned(YANERLUO) == cleaned(YANERLUO, "yuanqu")
    assert not clean_lyrics("天上的(云)\n飘过来").drama  # a bare (云) is an echo in a modern song


# ------------------------------------------------------------------------------ printed editions (songci)


def test_editors_notes_in_ci():
    # songci:14654 百字谣・念奴娇, songci:09527 水调歌头: gap notes; songci:03289 洞仙歌: a supplied character
    assert cleaned("最恨对面姮娥，舞霓裳掌上，（缺词文）", "songci") == "最恨对面姮娥，舞霓裳掌上，"
    assert cleaned("云容应为，虞侍分付（下缺）。", "songci") == "云容应为，虞侍分付。"
    assert cleaned("冰姿玉骨，自是清凉〔态〕。", "songci") == "冰姿玉骨，自是清凉态。"
    assert clean_lyrics("（缺词文）", source="songci").empty


def test_lost_lines_go_lost_characters_stay():
    # songci:02180 水调歌头 has a wholly lost couplet; □ inside a line marks one lost character
    result = clean_lyrics("□□□□□，□□□□□。\n叹而今、翻羡□南春，乾坤窄。", source="songci")
    assert result.text == "叹而今、翻羡□南春，乾坤窄。"
    assert result.removed == {"placeholder_line": 1}


def test_songci_parentheses_are_notes_but_user_parentheses_are_lyrics():
    line = "（和陈漕使仙湖韵）莫是西湖，分一派、残波剩碧。"
    assert cleaned(line, "songci") == "莫是西湖，分一派、残波剩碧。"
    assert cleaned("我等你 (等你)\n到天亮", "mine.csv") == "我等你 (等你)\n到天亮"


# ------------------------------------------------------------------------------ modern lyrics (made-up lines)


def test_musixmatch_trailer_lrc_credits_and_repeat_marks():
    text = (
        "[ti:雨天]\n[ar:某人]\n作詞：某甲 作曲：某乙\n[00:12.34]窗外下著雨\n[00:15.00][01:20.00]我在等你 (x2)\n"
        "[Chorus]\n雨一直下 ×2\nRepeat\n＊雨停了\n...\n\n******* This Lyrics is NOT for Commercial use *******\n(1409624446303)"
    )
    result = clean_lyrics(text, source="mine.csv")
    assert result.text == "窗外下著雨\n我在等你\n雨一直下\n雨停了"
    assert result.removed == {"trailer": 1, "timestamp": 5, "credit": 1, "chorus_mark": 5}


def test_singer_cues_only_when_a_song_has_several():
    duet = "甲：我在雨中等你\n乙：你在風裡唱歌\n合：我們一起看海"
    assert cleaned(duet, "mine.csv") == "我在雨中等你\n你在風裡唱歌\n我們一起看海"
    assert cleaned("(周)平凡的日子\n(湯)又是一天", "mine.csv") == "平凡的日子\n又是一天"
    one = "我說：別走\n外面下雨"
    assert cleaned(one, "mine.csv") == one  # one "X：" line is lyrics


def test_no_lyrics_and_empty_input():
    for text in ("", "   \n  ", "Lyrics not found", "纯音乐"):
        assert clean_lyrics(text).empty
    assert clean_lyrics("Lyrics not found").removed == {"no_lyrics": 1}
    assert clean_lyrics("").removed == {}


def test_tally_counts_songs_spans_and_characters():
    tally = CleaningTally()
    for text in ("(下)。\n好", "好", "(合)好\n(合前)。"):
        tally.add(text, clean_lyrics(text, source="yuanqu"))
    out = tally.to_dict()
    assert out["songs"] == 3 and out["songs_changed"] == 2
    assert out["rules"] == {
        "chorus_mark": {"songs": 1, "removed": 2, "chars": len("(合)(合前)")},
        "stage_direction": {"songs": 1, "removed": 1, "chars": 3},
    }
    assert set(out["rules"]) <= set(RULES)


# ------------------------------------------------------------------------------ titles and tunes


@pytest.mark.parametrize(
    ("title", "source", "tune", "subject", "work"),
    [
        ("浣溪沙", "songci", "浣溪沙", "", ""),
        ("雨中花・夜行船", "songci", "雨中花・夜行船", "", ""),
        ("张君瑞害相思(第三本)・络丝娘煞尾", "yuanqu", "络丝娘煞尾", "", "张君瑞害相思(第三本)"),
        ("诈妮子调风月・仙吕/点绛唇", "yuanqu", "仙吕/点绛唇", "", "诈妮子调风月"),
        ("双调・沉醉东风秋日湘阴道中", "yuanqu", "双调・沉醉东风", "秋日湘阴道中", ""),
        ("苏子瞻风雪贬黄州・幺篇", "yuanqu", "幺篇", "", "苏子瞻风雪贬黄州"),
        ("前腔", "yuanqu", "前腔", "", ""),
        ("关雎", "shijing", "", "关雎", ""),
        ("浣溪沙・春景", "mine.csv", "浣溪沙", "春景", ""),
        ("蝶恋花", "mine.csv", "蝶恋花", "", ""),
        ("暗香", "mine.csv", "", "暗香", ""),  # a two-character tune name is an ordinary title in a user file
        ("月亮代表我的心", "mine.csv", "", "月亮代表我的心", ""),
    ],
)
def test_split_title(title, source, tune, subject, work):
    parts = split_title(title, source=source)
    assert (parts.tune, parts.subject, parts.work) == (tune, subject, work)


def test_is_tune_title():
    assert is_tune_title("鹧鸪天", source="songci")
    assert is_tune_title("张君瑞害相思(第三本)・络丝娘煞尾", source="yuanqu")  # a play and a tune: nothing about the song
    assert not is_tune_title("双调・沉醉东风秋日湘阴道中", source="yuanqu")
    assert is_tune_title("我的歌", tune="我的歌")  # a file's tune column says so
    assert not is_tune_title("雪", source="mine.csv") and not is_tune_title("")


# ------------------------------------------------------------------------------ whole corpora


def test_no_cue_survives_in_the_shipped_yuanqu():
    from graphrec.data.songs import load_default_songs

    cue = re.compile(r"[（(［\[][^）)］\]\n]{0,12}(?:云|唱|科|介)[）)］\]]")
    qu = [s for s in load_default_songs() if s.source == "yuanqu"]
    assert len(qu) > 10_000
    assert not [s.id for s in qu if cue.search(s.lyrics)]


@pytest.mark.skipif(not MANDOPOP.exists(), reason="../shared/data/mandopop-tw not present")
def test_mandopop_cleaning_on_the_real_file():
    from graphrec.data.songs import read_songs

    corpus = read_songs(MANDOPOP)
    rules = corpus.provenance["cleaning"]["rules"]
    assert rules["trailer"]["songs"] == 1119  # every Musixmatch excerpt
    assert rules["credit"]["removed"] >= 1 and rules["speaker_cue"]["songs"] >= 5
    duet = corpus.by_id("TW_lyrics:00125")  # a duet whose lines start with the singers' names
    assert not any(re.match(r"^[曹卓合]：", line) for line in duet.lyrics.split("\n"))
    credits = corpus.by_id("TW_lyrics:00972")
    assert "詞：" not in credits.lyrics and "（黃品冠）" not in credits.lyrics
