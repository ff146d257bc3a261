"""Search queries for a keyword: the keyword itself and/or its English gloss from a small shipped table.

Commons file descriptions and Openverse metadata are overwhelmingly English, so a classical
Chinese keyword such as 雪 finds far more pictures as "snow". The keyword stays the label;
only the query changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources

from graphrec._log import get_logger
from graphrec.errors import InputError

log = get_logger(__name__)

LANGS = ("zh", "en")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def default_table() -> dict[str, str]:
    """The shipped zh→en table (``graphrec/collect/resources/zh_en.json``)."""
    text = resources.files("graphrec.collect").joinpath("resources/zh_en.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def translate(keyword: str, table: Mapping[str, str] | None = None) -> str | None:
    """English for a Chinese keyword: a whole-word entry, else the glosses of its longest known pieces.

    Returns None when no piece is known, so the caller can say so rather than search for nonsense.
    """
    table = default_table() if table is None else table
    if keyword in table:
        return table[keyword]
    longest = max((len(k) for k in table), default=0)
    words: list[str] = []
    i = 0
    while i < len(keyword):
        # Greedy longest match: 明月光 -> 明月 + 光 ("bright moon light"), not 明 + 月 + 光.
        for size in range(min(longest, len(keyword) - i), 0, -1):
            piece = keyword[i : i + size]
            if piece in table:
                if table[piece] not in words:
                    words.append(table[piece])
                i += size
                break
        else:
            i += 1  # an unknown character is skipped: a partial gloss still finds relevant pictures
    return " ".join(words) or None


def parse_langs(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"zh,en"`` -> ("zh", "en"); order is kept because it is the order results are interleaved in."""
    items = value.split(",") if isinstance(value, str) else list(value)
    langs = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    bad = [lang for lang in langs if lang not in LANGS]
    if not langs or bad:
        raise InputError(f"--lang {value!r}: expected a comma-separated list of {', '.join(LANGS)}, found {bad or 'nothing'}; e.g. --lang zh,en")
    return langs


def queries_for(keyword: str, langs: Sequence[str], table: Mapping[str, str] | None = None) -> list[str]:
    """The distinct search strings for ``keyword`` in the requested languages.

    ``zh`` is the keyword as written; ``en`` is its translation when it contains Chinese (a keyword
    that is already English is its own translation). A keyword with no translation is searched as
    written, with a warning, rather than dropped.
    """
    queries: list[str] = []
    for lang in langs:
        if lang == "zh" or not _CJK.search(keyword):
            query = keyword
        else:
            query = translate(keyword, table) or ""
            if not query:
                log.warning("no English for keyword %r in the zh→en table; searching for it as written", keyword)
                query = keyword
        if query not in queries:
            queries.append(query)
    return queries
