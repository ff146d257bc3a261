"""Senses: an imagery character counts for its image only where it means that image.

Classical Chinese builds words out of imagery characters that mean something else in them: 今日 is
"today", not the sun; 风流 is a manner, not wind; 秋千 is a swing; 金乌 is the sun, not gold;
in the Yuan qu 半星儿 is "a bit" and 正末云 "the lead says". ``resources/sense_exceptions.tsv`` is
the reviewed list: each compound with the imagery words it does carry (possibly none), the texts it
applies to (classical, modern or all) and why. `graphrec.text.keywords` counts a listed compound for
the images it carries instead of its characters (`SenseTable`); the compounds are added to jieba's
dictionary (`compounds`) so that they come out as tokens.

Two more rules that need no list: role name + 云 ("says") is a speech cue, whatever is left of one
after cleaning; and the words inside 《》 name a work (《白雪》, 《春秋》, 《满庭芳》): a title, not
an image (`strip_named_works`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from graphrec.data.clean import ROLES
from graphrec.text.stopwords import imagery_words

Scope = Literal["classical", "modern"]
SCOPES = ("all", "classical", "modern")
CLASSICAL_SOURCES = ("songci", "yuanqu", "shijing")

# one-character roles that make no other word with 云 (生云 "clouds rise", 孤云 "a lone cloud" do)
_SAY_ROLES_1 = ("旦", "末", "净", "丑", "淨")
_NAMED_WORK = re.compile(r"《[^《》\n]{1,30}》")


@dataclass(frozen=True)
class SenseException:
    compound: str
    carries: tuple[str, ...]  # imagery words the compound does carry; () for none
    scope: str  # "all", "classical" or "modern"
    reason: str


def _parse(text: str, origin: str) -> dict[str, SenseException]:
    table: dict[str, SenseException] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise ValueError(
                f"{origin} line {number}: expected 4 tab-separated fields (compound, carries, scope, reason), "
                f"found {len(fields)}: {line!r}; fix the line."
            )
        compound, carries, scope, reason = (f.strip() for f in fields)
        if scope not in SCOPES:
            raise ValueError(f"{origin} line {number}: scope {scope!r} is not one of {SCOPES}; fix the line.")
        if compound in table:
            raise ValueError(f"{origin} line {number}: {compound!r} is listed twice; keep one line.")
        words = () if carries == "-" else tuple(carries.split())
        unknown = [w for w in words if w not in imagery_words()]
        if unknown:
            raise ValueError(
                f"{origin} line {number}: {compound!r} carries {unknown}, which are not imagery words "
                "(resources/imagery.txt); give imagery words or -."
            )
        table[compound] = SenseException(compound, words, scope, reason)
    return table


@lru_cache(maxsize=1)
def sense_exceptions() -> dict[str, SenseException]:
    """The reviewed list plus the role-name + 云 cues, by compound."""
    text = resources.files("graphrec.text").joinpath("resources", "sense_exceptions.tsv").read_text(encoding="utf-8")
    table = _parse(text, "sense_exceptions.tsv")
    for role in sorted(ROLES):
        if len(role) >= 2 or role in _SAY_ROLES_1:
            for say in ("云", "雲"):
                table.setdefault(role + say, SenseException(role + say, (), "all", "a role name and 云: a speech cue"))
    return table


def compounds() -> list[str]:
    """Every listed compound, for jieba's dictionary."""
    return sorted(sense_exceptions())


def scope_of(source: str) -> Scope:
    """Which exceptions apply to a song from ``source``: the classical corpus' or everyone else's."""
    return "classical" if source in CLASSICAL_SOURCES else "modern"


class SenseTable:
    """The exceptions that apply in one scope, found in tokens.

    A token that is a listed compound is one (the compounds are in jieba's dictionary, so they come
    out as tokens). Inside a longer token a compound counts only at its start or end: jieba keeps
    idioms whole (金乌玉兔 = 金乌 + 玉兔, 海棠花 = 海棠 + 花), but a compound met in the middle of
    one may not be there at all (枝叶 in 枝枝叶叶 is branches and leaves).
    """

    def __init__(self, scope: Scope) -> None:
        if scope not in ("classical", "modern"):
            raise ValueError(f"scope must be 'classical' or 'modern', got {scope!r}.")
        self.scope = scope
        self.table = {c: e for c, e in sense_exceptions().items() if e.scope in ("all", scope)}
        self.longest = max((len(c) for c in self.table), default=0)

    def spans(self, token: str) -> list[tuple[int, int, SenseException]]:
        """The listed compounds that make up ``token``, or begin or end it: (start, end, exception)."""
        n = len(token)
        whole = self.table.get(token)
        if whole is not None:
            return [(0, n, whole)]
        found: list[tuple[int, int, SenseException]] = []
        for size in range(min(self.longest, n - 1), 1, -1):
            head = self.table.get(token[:size])
            if head is not None:
                found.append((0, size, head))
                break
        start = found[0][1] if found else 0
        for size in range(min(self.longest, n - start), 1, -1):
            tail = self.table.get(token[n - size :])
            if tail is not None:
                found.append((n - size, n, tail))
                break
        return found


def strip_named_works(text: str) -> str:
    """The text with every 《title》 blanked out (a space each, so that lines and neighbours stay apart)."""
    return _NAMED_WORK.sub(" ", text) if "《" in text else text
