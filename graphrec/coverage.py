"""What a model's vocabulary reaches: for each keyword, the songs, images and classifier classes that carry it.

Issue 11's question, answered per model: can every concept the photo sources name be reached? A word
in the vocabulary is reachable from a photo when some dataset image or some classifier class carries
it; a word the class tables name stays out of the vocabulary when too few songs sing of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graphrec.recommender import Recommender


@dataclass(frozen=True)
class CoverageRow:
    word: str
    songs: int  # songs carrying the keyword
    images: int  # dataset images carrying it
    classes: int  # classifier classes tied to it
    rule: str  # "selected" (one of the k most frequent) or "included" (named by a class table)

    @property
    def reachable(self) -> bool:
        return self.images > 0 or self.classes > 0


def vocabulary_coverage(model: Recommender) -> tuple[list[CoverageRow], dict[str, int]]:
    """One row per vocabulary word, and the class-table words left out of the vocabulary with their song counts."""
    def per_column(matrix: Any, n: int) -> np.ndarray:
        return np.bincount(matrix.indices, minlength=n) if matrix is not None and matrix.nnz else np.zeros(n, int)

    n = len(model.vocabulary_)
    songs = per_column(model.song_keywords_, n)
    images = per_column(model.image_keywords_, n)
    classes = per_column(None if model.classes_ is None else model.classes_.keywords, n)
    stats = model.provenance.get("keyword_stats", {})
    included = set(stats.get("included", []))
    rows = [
        CoverageRow(word, int(songs[j]), int(images[j]), int(classes[j]), "included" if word in included else "selected")
        for j, word in enumerate(model.vocabulary_)
    ]
    vocabulary = set(model.vocabulary_)
    left_out = {w: int(df) for w, df in stats.get("include_document_frequency", {}).items() if w not in vocabulary}
    return rows, dict(sorted(left_out.items(), key=lambda kv: (-kv[1], kv[0])))


def coverage_markdown(model: Recommender) -> str:
    """The coverage report as markdown: every word, the unreachable ones, and what stayed out."""
    rows, left_out = vocabulary_coverage(model)
    min_df = model.provenance.get("keyword_stats", {}).get("include_min_df")
    lines = [
        f"# Vocabulary coverage: {len(rows)} keywords",
        "",
        f"{sum(r.rule == 'selected' for r in rows)} selected as the most frequent informative words, "
        f"{sum(r.rule == 'included' for r in rows)} included because a class table names them and at least {min_df} songs sing of them. "
        f"{sum(r.reachable for r in rows)} are reachable from a photo (a dataset image or a classifier class carries them).",
        "",
        "| keyword | songs | images | classes | rule |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [f"| {r.word} | {r.songs} | {r.images} | {r.classes} | {r.rule} |" for r in sorted(rows, key=lambda r: -r.songs)]
    unreachable = [r.word for r in rows if not r.reachable]
    lines += ["", f"## Reached by nothing ({len(unreachable)})", "", "、".join(unreachable) or "(none)", ""]
    lines += [f"## Named by a class table, left out: fewer than {min_df} songs ({len(left_out)})", ""]
    lines.append("、".join(f"{w} {df}" for w, df in left_out.items()) or "(none)")
    return "\n".join(lines) + "\n"
