"""Word lists shipped in ``graphrec/text/resources``: Chinese and English stopwords, imagery words."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


def _lines(name: str) -> list[str]:
    text = resources.files("graphrec.text").joinpath("resources", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=None)
def chinese_stopwords() -> frozenset[str]:
    """Function words of classical and modern Chinese (之 乎 者 也 不 何 的 了 ...), pronouns, numerals,
    measure words and nouns too general to picture (人 事 时 处 ...), Simplified and Traditional."""
    return frozenset(_lines("stopwords_zh.txt"))


@lru_cache(maxsize=None)
def english_stopwords() -> frozenset[str]:
    """Lower-case English function words and filler ("the", "i'm", "oh", "baby")."""
    return frozenset(_lines("stopwords_en.txt"))


@lru_cache(maxsize=None)
def imagery_words() -> dict[str, str]:
    """Concrete imagery words (雪 月 花 风 ... 梧桐 芭蕉) and the jieba tag they are given: they pass the
    part-of-speech filter whatever jieba's dictionary says (it tags 月 as a numeral, 花 as a verb)."""
    out: dict[str, str] = {}
    for line in _lines("imagery.txt"):
        parts = line.split()
        out[parts[0]] = parts[1] if len(parts) > 1 else "n"
    return out


def all_stopwords(extra: tuple[str, ...] = ()) -> frozenset[str]:
    return chinese_stopwords() | english_stopwords() | frozenset(w.strip().lower() for w in extra if w.strip())
