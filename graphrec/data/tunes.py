"""Tune names in song titles: which part of a title names the tune (词牌, 曲牌) and which the song's subject.

A Song ci is titled by its tune (浣溪沙, 蝶恋花): hundreds of unrelated ci share one, so the title says
nothing about the song. A Yuan-qu title holds a play or a mode and a tune
(``张君瑞害相思(第三本)・络丝娘煞尾``, ``双调・沉醉东风秋日湘阴道中``: mode, tune, then the song's own
subtitle), or a tune and the opening words of the lyrics that the source cut off into the title
(``幺・柔肠脉脉，新愁千万叠。...``). `split_title` takes a title apart; only its ``subject`` (and
``opening``) is content. The known tune names are ``resources/tunes.txt`` (``tools/make_tunes.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

SEPARATORS = r"[・·•]"
DRAMA_SOURCES = ("yuanqu",)  # titles shaped <play or mode>・<tune>, lyrics interleaved with stage directions
TUNE_TITLE_SOURCES = ("songci",)  # the whole title is the tune

_TRAD = str.maketrans("调吕双宫钟黄么换声随赚余头后", "調呂雙宮鐘黃麼換聲隨賺餘頭後")
_MODES_S = (
    "双调 中吕 南吕 越调 仙吕 正宫 黄钟 商调 大石调 小石调 般涉调 商角调 高平调 歇指调 宫调 道宫 角调 "
    "中吕宫 南吕宫 仙吕宫 黄钟宫 双调宫 南 北"
).split()
MODES = frozenset(_MODES_S) | frozenset(m.translate(_TRAD) for m in _MODES_S)
# repeats and codas of a suite: "the previous tune again" (幺篇, 前腔), "coda" (尾声, 煞) ...
_STRUCTURAL = re.compile(
    r"^(?:(?:前腔|同前)(?:换头|換頭)?|同上|换头|換頭|[幺么麼](?:篇)?(?:换头|換頭)?|"
    r"尾|尾声|尾聲|尾煞|煞|煞尾|随煞|隨煞|随尾|隨尾|赚煞|賺煞|赚煞尾|賺煞尾|赚尾|賺尾|隔尾|收尾|余音|餘音|"
    r"[一二三四五六七八九十]+煞)$"
)
_OPENING = re.compile(r"[，。；？！：、,.;?!]")  # sentence punctuation: a part with it is lyric text, not a name
_MIN_WHOLE_TITLE = 3  # outside the classical sources a bare title is a tune only if it is a known name this long


def is_mode(part: str) -> bool:
    """A musical mode (宫调) such as 双调, 南吕; 南/北 mark southern/northern tunes."""
    return part.strip() in MODES


def is_structural(part: str) -> bool:
    """A suite's repeat or coda name: 幺篇, 前腔, 前腔换头, 尾声, 煞尾, 三煞 ..."""
    return bool(_STRUCTURAL.match(part.strip()))


@lru_cache(maxsize=1)
def known_tunes() -> frozenset[str]:
    """Tune names used at least twice in the classical corpus (``resources/tunes.txt``)."""
    text = resources.files("graphrec.data").joinpath("resources", "tunes.txt").read_text(encoding="utf-8")
    return frozenset(line.split("\t")[0] for line in text.splitlines() if line and not line.startswith("#"))


@dataclass(frozen=True)
class TitleParts:
    """A title taken apart. ``subject``: words about this song; ``tune``: the tune (with its mode, if
    given); ``work``: the play it comes from; ``opening``: the lyrics' first words, cut into the title."""

    tune: str = ""
    subject: str = ""
    work: str = ""
    opening: str = ""


def _is_tune_part(part: str, extra: str, whole: bool) -> bool:
    pieces = [p.strip() for p in part.split("/") if p.strip()]
    if not pieces:
        return False
    tunes = known_tunes()
    for p in pieces:
        if p == extra or is_mode(p) or is_structural(p):
            continue
        if p in tunes and not (whole and len(p) < _MIN_WHOLE_TITLE):
            continue
        return False
    return True


def _tune_prefix(part: str) -> tuple[str, str] | None:
    """``沉醉东风秋日湘阴道中`` -> (沉醉东风, 秋日湘阴道中): the longest known tune starting the part."""
    tunes = known_tunes()
    for n in range(min(len(part) - 2, 8), 1, -1):
        if part[:n] in tunes:
            return part[:n], part[n:]
    return None


def split_title(title: str, *, source: str | None = None, tune: str = "") -> TitleParts:
    """Take a title apart into tune, subject, work and opening words (see `TitleParts`).

    ``source`` says how the title was made: ``"songci"`` (the title is the tune), ``"yuanqu"``
    (``<play or mode>・<tune>`` or ``<tune>・<opening words>``) or anything else (a user's file: the title
    is the subject unless it is a known tune name of three or more characters, or has the shape
    ``<tune>・<subject>``). ``tune`` is a tune name known from elsewhere (a file's tune column).
    """
    title = title.strip()
    tune = tune.strip()
    if not title:
        return TitleParts(tune=tune)
    if source in TUNE_TITLE_SOURCES or title == tune:
        return TitleParts(tune=title)
    parts = [p.strip() for p in re.split(SEPARATORS, title)]
    drama = source in DRAMA_SOURCES
    tunes: list[str] = []
    subject: list[str] = []
    unknown: list[tuple[int, str]] = []
    opening = ""
    for i, part in enumerate(parts):
        if not part:
            continue
        if _OPENING.search(part) and drama:
            opening = part
        elif _is_tune_part(part, tune, whole=len(parts) == 1 and not drama):
            tunes.append(part)
        elif i > 0 and is_mode(parts[i - 1]) and (split := _tune_prefix(part)):
            tunes.append(split[0])  # 双调・沉醉东风秋日湘阴道中: mode, tune, then the song's subtitle
            subject.append(split[1])
        else:
            unknown.append((i, part))
    work: list[str] = []
    for i, part in unknown:
        if not drama:
            subject.append(part)
        elif i == len(parts) - 1 or (not tunes and len(unknown) == 1):
            tunes.append(part)  # a qu title ends with its tune (or is one), known or not
        else:
            work.append(part)  # the play: not about this one song
    return TitleParts(tune="・".join(tunes) or tune, subject="・".join(subject), work="・".join(work), opening=opening)


def is_tune_title(title: str, tune: str = "", *, source: str | None = None) -> bool:
    """True when the title names only a tune (and mode or play), nothing about the song itself."""
    parts = split_title(title, source=source, tune=tune)
    return bool(title.strip()) and not parts.subject and not parts.opening and bool(parts.tune)
