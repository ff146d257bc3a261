"""The interface every related-word backend implements, and the memo that serves n = 5..100 from one look-up.

Backends (:mod:`graphrec.evaluate.cilin_related`, :mod:`graphrec.evaluate.conceptnet`,
:mod:`graphrec.evaluate.webapi`) import from here; :mod:`graphrec.evaluate.related` picks one by name.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from graphrec.errors import InputError


@runtime_checkable
class RelatedWords(Protocol):
    """A source of words related to a word, strongest first."""

    name: str  # recorded beside every result, e.g. "cilin", "conceptnet-lite:/data/conceptnet.db"

    def top_n(self, word: str, n: int) -> list[tuple[str, float]]:
        """Up to ``n`` (word, score) pairs, score descending, never ``word`` itself; [] for an unknown word."""
        ...

    def describe(self) -> dict[str, Any]:
        """What a result file records about this source (name, version, data file, parameters)."""
        ...


def check_n(n: object) -> int:
    """``n`` must be a non-negative int; 0 asks for nothing (the truth is then the keywords alone)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InputError(f"n (how many related words) must be a non-negative integer, got {n!r}.")
    return n


class MemoRelated:
    """Remembers each word's longest answer so that n = 5, 10, 50, 100 cost one lookup per word."""

    def __init__(self, inner: RelatedWords) -> None:
        self.inner = inner
        self.name = inner.name
        self._memo: dict[str, tuple[int, list[tuple[str, float]]]] = {}

    def top_n(self, word: str, n: int) -> list[tuple[str, float]]:
        check_n(n)
        asked, answer = self._memo.get(word, (-1, []))
        # A shorter answer than asked for means the source has no more, so any larger n is served too.
        if asked >= n or (asked >= 0 and len(answer) < asked):
            return answer[:n]
        answer = self.inner.top_n(word, n)
        self._memo[word] = (n, answer)
        return answer

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()
