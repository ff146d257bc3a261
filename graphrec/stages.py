"""The build, stage by stage: keywords -> image mapping -> features -> class nodes -> graph -> embeddings.

`Recommender.build` runs these in order; experiments call them directly to share work across runs
(keywords once per corpus, features once per image set, a graph and an embedding per fold). Each stage
takes the previous stages' results and its own config, and returns plain results with their stats.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from graphrec._log import get_logger
from graphrec.config import BuildConfig
from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song
from graphrec.embed.line import LineConfig, LineResult, train_line
from graphrec.errors import InputError
from graphrec.graph.build import BipartiteGraph, ClassNodes, build_graph
from graphrec.text.keywords import KeywordConfig, KeywordResult, extract_keywords
from graphrec.text.mapping import map_to_vocabulary
from graphrec.vision.base import Featurizer
from graphrec.vision.engines import FeatureEngine
from graphrec.vision.extract import extract_features
from graphrec.vision.heads import ClassifierHead

log = get_logger(__name__)

__all__ = [
    "FeaturizedImages",
    "Timings",
    "class_nodes",
    "embed_graph",
    "featurize_images",
    "load_class_rows",
    "make_graph",
    "vocabulary_config",
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


def vocabulary_config(config: BuildConfig, head: ClassifierHead | None) -> KeywordConfig:
    """The keyword settings a build uses: ``config.keywords``, plus, with ``config.include_class_words``, the
    words of the photo-class table and of the classifier bridge's class table as words to make reachable
    (each joins the vocabulary if enough songs sing of it: ``KeywordConfig.include_min_df``)."""
    if not config.include_class_words or config.keywords.vocabulary is not None:
        return config.keywords
    from graphrec.data.class_tables import load_class_table

    words = list(config.keywords.include)
    words += [w for row in load_class_table() for w in row.keywords]
    if head is not None:
        rows, _ = load_class_rows(config.class_table, head)
        words += [w for row in rows for w in row.keywords]
    return dataclasses.replace(config.keywords, include=tuple(dict.fromkeys(words)))


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


def map_images(
    images: ImageSet, vocabulary: Sequence[str], *, fallback: ImageSet | None = None
) -> tuple[ImageSet, dict[str, Any]]:
    """Stage 2: the images re-labelled with vocabulary words (the others dropped), and the mapping's counts.

    ``fallback`` images (the shipped emoji drawings, say) stand in only where no image of ``images``
    carries a vocabulary word: each keeps just the words no primary image covers, and is left out
    when it has none.
    """
    if len(images) == 0:
        raise InputError("the image set is empty; give at least one keyword-labelled image.")
    mapped, stats = map_to_vocabulary(images, vocabulary)
    if fallback is not None and len(fallback):
        covered = {w for r in mapped for w in r.keywords}
        extra, fb_stats = map_to_vocabulary(fallback, vocabulary)
        kept = []
        for r in extra:
            words = [(w, x) for w, x in zip(r.keywords, r.weights) if w not in covered]
            if words:
                kept.append(ImageRecord(r.id, r.path, tuple(w for w, _ in words), tuple(x for _, x in words), r.extra))
        stats["fallback"] = {
            "images_in": len(fallback), "images_kept": len(kept),
            "words": sorted({w for r in kept for w in r.keywords}, key=list(vocabulary).index),
        }
        log.info("fallback images: %d of %d stand in for %d words no primary image covers",
                 len(kept), len(fallback), len(stats["fallback"]["words"]))
        mapped = ImageSet(list(mapped) + kept, dict(mapped.provenance))
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
    engine: FeatureEngine | None = None,
) -> FeaturizedImages:
    """Stage 3: features of every image; unreadable ones are logged, counted and left out.

    ``features`` (with ``feature_ids``, the image id of each row; default: ``images``' own order)
    are precomputed features to take instead of featurising, e.g. an experiment's cache. They must
    come from ``featurizer``, so that queries land in the same space. ``engine``: where featurising
    runs (this process, or a Ray cluster).
    """
    if features is None:
        batch = extract_features(featurizer, [r.path for r in images], show_progress=show_progress, engine=engine)
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


class ClassRowLike(Protocol):
    """A class-keyword table row (see :mod:`graphrec.data.class_tables`)."""

    index: int | None
    name: str
    keywords: tuple[str, ...]
    weights: tuple[float, ...]
    line: int


def class_nodes(
    head: ClassifierHead, rows: Iterable[ClassRowLike], vocabulary: Sequence[str], *, where: str = "class table"
) -> tuple[ClassNodes, dict[str, Any]]:
    """Stage 4a, the classifier bridge: the head's classes that the table ties to vocabulary keywords.

    Every row must name a class of ``head`` by its index and label (a table written for another label
    set is an error naming the row). Keywords outside the vocabulary are left out and counted; classes
    left with no keyword get no node and are listed in the report, never dropped silently.
    """
    column = {w: j for j, w in enumerate(vocabulary)}
    ids: list[str] = []
    labels: list[str] = []
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    no_keyword: list[str] = []  # the table names no keyword for it (no classical-lyric counterpart)
    outside: list[str] = []  # its keywords are all outside the vocabulary
    words_outside: dict[str, int] = {}
    seen: set[int] = set()
    n_rows = 0
    for row in rows:
        n_rows += 1
        index = row.index
        if index is None or not 0 <= index < len(head.labels) or head.labels[index] != row.name:
            expected = head.labels[index] if index is not None and 0 <= index < len(head.labels) else None
            raise InputError(
                f"{where} line {row.line}: class {index!r} {row.name!r} is not class {index!r} of the classifier "
                f"{head.name!r} (which is {expected!r}); the table must be written for {head.name!r} "
                "(index and name as the classifier numbers and names them)."
            )
        if index in seen:
            raise InputError(f"{where} line {row.line}: class {index} {row.name!r} appears twice; give each class one row.")
        seen.add(index)
        if not row.keywords:
            no_keyword.append(row.name)
            continue
        kept = [(column[w], float(x)) for w, x in zip(row.keywords, row.weights) if w in column]
        for w in row.keywords:
            if w not in column:
                words_outside[w] = words_outside.get(w, 0) + 1
        if not kept:
            outside.append(row.name)
            continue
        ids.append(str(index))
        labels.append(row.name)
        for j, x in sorted(kept):
            cols.append(j)
            data.append(x)
        indptr.append(len(cols))
    matrix = sp.csr_matrix((np.asarray(data, np.float32), np.asarray(cols, np.int64), np.asarray(indptr, np.int64)),
                           shape=(len(ids), len(vocabulary)))
    report = {
        "classifier": head.name,
        "classes": len(head.labels),
        "table_rows": n_rows,
        "in_graph": len(ids),
        "without_keywords_in_table": len(no_keyword),
        "keywords_outside_vocabulary": len(outside),
        "classes_outside_vocabulary": outside,
        "words_outside_vocabulary": dict(sorted(words_outside.items(), key=lambda kv: (-kv[1], kv[0]))),
        "not_in_table": len(head.labels) - len(seen),
    }
    if outside:
        log.info("classifier bridge: %d classes name only keywords outside the vocabulary (e.g. %s)", len(outside), ", ".join(outside[:5]))
    log.info("classifier bridge: %d of %d %s classes tied to keywords", len(ids), len(head.labels), head.name)
    return ClassNodes(ids=ids, labels=labels, keywords=matrix), report


def load_class_rows(path: str | None, head: ClassifierHead) -> tuple[Sequence[Any], str]:
    """The class-keyword table for ``head``: the file at ``path``, else the shipped one for its label set."""
    from graphrec.data.class_tables import IMAGENET_KEYWORDS, load_imagenet_table

    if path is None:
        if head.name != "imagenet1k":
            raise InputError(
                f"no class-keyword table ships for the classifier {head.name!r}; pass BuildConfig(class_table=PATH) "
                "or BuildConfig(classifier_bridge=False)."
            )
        path = str(IMAGENET_KEYWORDS)
    return load_imagenet_table(path), str(path)


def make_graph(
    keywords: KeywordResult,
    images: ImageSet,
    image_keyword_weight: float = 1.0,
    *,
    classes: ClassNodes | None = None,
    class_keyword_weight: float = 1.0,
) -> BipartiteGraph:
    """Stage 4: the weighted song-keyword-image(-class) graph (images already mapped onto the vocabulary)."""
    return build_graph(keywords, images, image_keyword_weight=image_keyword_weight, classes=classes,
                       class_keyword_weight=class_keyword_weight)


def embed_graph(graph: BipartiteGraph, config: LineConfig, *, show_progress: bool | None = None) -> LineResult:
    """Stage 5: LINE vectors of every node of ``graph`` (rows follow ``graph.node_ids``)."""
    src, dst, weight = graph.directed()
    return train_line(src, dst, weight, len(graph.node_ids), config, show_progress=show_progress)
