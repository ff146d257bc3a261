"""The build, stage by stage: keywords -> image mapping -> features -> graph -> embeddings.

`Recommender.build` runs these in order; experiments call them directly to share work across runs
(keywords once per corpus, features once per image set, a graph and an embedding per fold). Each stage
takes the previous stages' results and its own config, and returns plain results with their stats.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec._log import get_logger
from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song
from graphrec.embed.line import LineConfig, LineResult, train_line
from graphrec.errors import InputError
from graphrec.graph.build import BipartiteGraph, build_graph
from graphrec.text.keywords import KeywordConfig, KeywordResult, extract_keywords
from graphrec.text.mapping import map_to_vocabulary
from graphrec.vision.base import Featurizer
from graphrec.vision.extract import extract_features

log = get_logger(__name__)

__all__ = [
    "FeaturizedImages",
    "Timings",
    "embed_graph",
    "featurize_images",
    "make_graph",
    "map_images",
    "select_keywords",
]


class Timings(dict[str, float]):
    """Seconds per stage, filled by ``with timings.stage("keywords"): ...``."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[f"{name}_s"] = self.get(f"{name}_s", 0.0) + time.perf_counter() - start


def select_keywords(songs: Sequence[Song], config: KeywordConfig, *, show_progress: bool | None = None) -> KeywordResult:
    """Stage 1: the keyword vocabulary and every kept song's keyword weights."""
    if len(songs) == 0:
        raise InputError("the song corpus is empty; give at least one song with lyrics.")
    keywords = extract_keywords(songs, config, show_progress=show_progress)
    log.info(
        "keywords: %d-word vocabulary, %d songs kept, %d dropped (no vocabulary keyword)",
        len(keywords.vocabulary), len(keywords.song_ids), len(keywords.dropped_song_ids),
    )
    return keywords


def map_images(images: ImageSet, vocabulary: Sequence[str]) -> tuple[ImageSet, dict[str, Any]]:
    """Stage 2: the images re-labelled with vocabulary words (the others dropped), and the mapping's counts."""
    if len(images) == 0:
        raise InputError("the image set is empty; give at least one keyword-labelled image.")
    mapped, stats = map_to_vocabulary(images, vocabulary)
    if len(mapped) == 0:
        raise InputError(
            f"none of the {len(images)} images has a keyword in the song vocabulary "
            f"({'、'.join(list(vocabulary)[:10])}…); label the images with vocabulary words "
            "or pass KeywordConfig(vocabulary=...) listing the images' keywords."
        )
    return mapped, stats


@dataclass
class FeaturizedImages:
    """The images whose features could be computed, their features (rows in ``images`` order), and the others."""

    images: ImageSet
    features: np.ndarray
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def featurize_images(
    images: ImageSet,
    featurizer: Featurizer,
    *,
    features: np.ndarray | None = None,
    feature_ids: Sequence[str] | None = None,
    show_progress: bool | None = None,
) -> FeaturizedImages:
    """Stage 3: features of every image; unreadable ones are logged, counted and left out.

    ``features`` (with ``feature_ids``, the image id of each row; default: ``images``' own order)
    are precomputed features to take instead of featurising, e.g. an experiment's cache. They must
    come from ``featurizer``, so that queries land in the same space.
    """
    if features is None:
        batch = extract_features(featurizer, [r.path for r in images], show_progress=show_progress)
        kept: list[ImageRecord] = [images[i] for i in batch.ok]
        rows, failures = batch.features, batch.failures
    else:
        ids = list(feature_ids) if feature_ids is not None else [r.id for r in images]
        if len(ids) != len(features):
            raise InputError(
                f"image_features has {len(features)} rows but {len(ids)} images were given for them; "
                "pass one feature row per image, in the image set's order."
            )
        row_of = {image_id: i for i, image_id in enumerate(ids)}
        missing = [r.id for r in images if r.id not in row_of]
        if missing:
            raise InputError(f"no precomputed feature row for image {missing[0]!r} (and {len(missing) - 1} more); pass features of every image.")
        kept = list(images)
        rows, failures = np.asarray(features, dtype=np.float32)[[row_of[r.id] for r in kept]], []
    for path, reason in failures:
        log.warning("skipped image %s: %s", path, reason)
    if not kept:
        raise InputError("no image could be read; see the warnings above for each file and its reason.")
    if rows.shape[1] != featurizer.dim:
        raise InputError(
            f"image_features have {rows.shape[1]} columns but featurizer {featurizer.name!r} "
            f"gives {featurizer.dim}; pass features made by that featurizer."
        )
    return FeaturizedImages(ImageSet(records=kept, provenance=dict(images.provenance)), rows, list(failures))


def make_graph(keywords: KeywordResult, images: ImageSet, image_keyword_weight: float = 1.0) -> BipartiteGraph:
    """Stage 4: the weighted song-keyword-image graph (images already mapped onto the vocabulary)."""
    return build_graph(keywords, images, image_keyword_weight=image_keyword_weight)


def embed_graph(graph: BipartiteGraph, config: LineConfig, *, show_progress: bool | None = None) -> LineResult:
    """Stage 5: LINE vectors of every node of ``graph`` (rows follow ``graph.node_ids``)."""
    src, dst, weight = graph.directed()
    return train_line(src, dst, weight, len(graph.node_ids), config, show_progress=show_progress)
