"""How many songs' lyrics contain a word (document frequency by substring), stage directions left out.

Yuan qu print stage directions and spoken lines in parentheses inside the lyrics, e.g. ``(正末云)``
("the male lead says"), so a plain substring count credits 云 "cloud" with every "says". The spans
``(…)``, ``（…）``, ``〔…〕`` and ``[…]`` are removed before counting; they hold no sung words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# One bracketed span, not nested (the corpus has no nested ones), never across a line break.
_STAGE_DIRECTION = re.compile(r"[(（〔\[][^()（）〔〕\[\]\n]*[)）〕\]]")


def strip_stage_directions(text: str) -> str:
    """``text`` without its bracketed spans: ``"(正末云)白云飞"`` -> ``"白云飞"``."""
    return _STAGE_DIRECTION.sub("", text)


def document_frequencies(texts: Iterable[str], words: Iterable[str]) -> dict[str, int]:
    """For each word, how many of ``texts`` contain it as a substring (after `strip_stage_directions`).

    Each character of the words gets the set of texts holding it, so a one-character word is a set
    size and a longer word only scans the texts that hold all of its characters.
    """
    cleaned = [strip_stage_directions(t) for t in texts]
    wanted = {w for w in words if w}
    chars = {c for w in wanted for c in w}
    holders: dict[str, set[int]] = {c: set() for c in chars}
    for i, text in enumerate(cleaned):
        for c in chars.intersection(text):
            holders[c].add(i)
    out: dict[str, int] = {}
    for word in wanted:
        if len(word) == 1:
            out[word] = len(holders[word])
            continue
        candidates = set.intersection(*(holders[c] for c in set(word)))
        out[word] = sum(1 for i in candidates if word in cleaned[i])
    return out
