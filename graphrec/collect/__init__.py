"""graphrec.collect: keyword-labelled images from public, key-free image APIs (Wikimedia Commons, Openverse).

>>> from graphrec.collect import CollectConfig, collect_images, read_keywords     # doctest: +SKIP
>>> summary = collect_images(read_keywords("vocab.txt"), "images/", CollectConfig(per_keyword=50, contact="me@example.org"))
"""

from __future__ import annotations

from graphrec.collect.collector import (
    JOURNAL_NAME,
    MANIFEST_NAME,
    REASONS,
    REJECTED_NAME,
    SUMMARY_NAME,
    CollectConfig,
    CollectSummary,
    KeywordSummary,
    collect_images,
    rank_weight,
    read_keywords,
)
from graphrec.collect.http import PoliteSession, user_agent
from graphrec.collect.manifest import JOURNAL_COLUMNS, MANIFEST_COLUMNS
from graphrec.collect.translate import queries_for, translate

__all__ = [
    "JOURNAL_COLUMNS",
    "JOURNAL_NAME",
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "REASONS",
    "REJECTED_NAME",
    "SUMMARY_NAME",
    "CollectConfig",
    "CollectSummary",
    "KeywordSummary",
    "PoliteSession",
    "collect_images",
    "queries_for",
    "rank_weight",
    "read_keywords",
    "translate",
    "user_agent",
]
