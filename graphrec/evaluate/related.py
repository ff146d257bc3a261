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
from typing import Any

from graphrec.errors import InputError
from graphrec.evaluate.related_base import MemoRelated, RelatedWords, check_n

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "MemoRelated", "RelatedWords", "check_n", "get_related"]

DEFAULT_BACKEND = "cilin"


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
