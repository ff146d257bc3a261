"""Traditional and Simplified Chinese: which one a text is written in, and Traditional to Simplified.

Keywords are matched in Simplified (the vocabulary, jieba's dictionary and the sense list are
Simplified), so a Traditional text (a Taiwanese song: 雲 風 雨 兩) is converted before it is
segmented; the song keeps its own text for display. The converter is OpenCC's tables (PyPI
``opencc-python-reimplemented``, Apache-2.0), phrase by phrase: 乾杯 -> 干杯 but 乾坤 stays.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_BLOCK = range(0x4E00, 0xA000)  # CJK Unified Ideographs: every character the tables change lies here


@lru_cache(maxsize=1)
def _converters() -> tuple[Any, Any]:
    from opencc import OpenCC

    return OpenCC("t2s"), OpenCC("s2t")


@lru_cache(maxsize=1)
def _marks() -> tuple[frozenset[str], frozenset[str]]:
    """Characters written only in Traditional (雲 兩 風) and only in Simplified (云 两 风)."""
    t2s, s2t = _converters()
    chars = [chr(c) for c in _BLOCK]
    joined = "\n".join(chars)  # one call per table; the newline keeps the conversion per character
    trad = {c for c, x in zip(chars, t2s.convert(joined).split("\n")) if x != c}
    simp = {c for c, x in zip(chars, s2t.convert(joined).split("\n")) if x != c}
    both = trad & simp  # a handful of variants (麽) that both tables change: no evidence either way
    return frozenset(trad - both), frozenset(simp - both)


def is_traditional(text: str) -> bool:
    """True when the text has more Traditional-only than Simplified-only characters."""
    trad, simp = _marks()
    if trad.isdisjoint(text):
        return False
    return sum(c in trad for c in text) > sum(c in simp for c in text)


def to_simplified(text: str) -> str:
    """The text in Simplified characters when it is written in Traditional ones, else unchanged."""
    return _converters()[0].convert(text) if is_traditional(text) else text
