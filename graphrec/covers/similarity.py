"""Cover similarity (after E. Bernhardsson, "Music recommendations using cover images").

* :func:`genre_auc`: per query cover, the AUC of "same genre" against "other genre" when every other
  cover is ranked by similarity to it (1 = all same-genre covers first, .5 = random order).
* :func:`ann_recall`: recall@k of an approximate index against exact search.
* :class:`CoverIndex`: covers, their genres and a FAISS HNSW index of one descriptor, saved and loaded
  as a checked directory; ``similar(images, k)`` finds the nearest covers of new images.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from graphrec._log import get_logger, progress
from graphrec.covers.artifacts import open_artifact, save_arrays, save_artifact
from graphrec.covers.data import CoverSet
from graphrec.covers.descriptors import describe_covers, resolve_featurizer
from graphrec.errors import InputError
from graphrec.index import ExactIndex, FaissIndex
from graphrec.vision.base import BaseFeaturizer

log = get_logger(__name__)

SIMILAR_COVERS = 10  # covers shown per query, and the k of recall@k (Bernhardsson shows the 10 nearest)

Metric = Literal["euclidean", "cosine"]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def genre_auc(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    metric: Metric = "euclidean",
    block: int = 256,
    show_progress: bool | None = None,
) -> np.ndarray:
    """Per-query AUC ``(n,)``: how well distance ranks the query's genre-mates above the other covers.

    For query ``q`` the other ``n - 1`` covers are ranked by distance (``metric="cosine"``: Euclidean on
    unit-length rows); AUC = P(a random genre-mate is nearer than a random other-genre cover), ties
    counting one half. NaN for a query with no genre-mate or no other-genre cover.
    """
    from scipy.stats import rankdata

    x = np.asarray(features, dtype=np.float32)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise InputError(f"genre_auc needs features (n, d) and n labels; got features {x.shape} and {len(y)} labels.")
    if metric not in ("euclidean", "cosine"):
        raise InputError(f"metric must be 'euclidean' or 'cosine', got {metric!r}.")
    if metric == "cosine":
        x = unit_rows(x)
    x64 = x.astype(np.float64)
    sq = np.einsum("ij,ij->i", x64, x64)
    n = len(x)
    same_count = np.bincount(y, minlength=int(y.max()) + 1)[y] - 1
    other_count = (n - 1) - same_count
    out = np.full(n, np.nan)
    bar = progress(total=n, show_progress=show_progress, unit="query", desc=f"AUC ({metric})")
    try:
        for start in range(0, n, block):
            stop = min(n, start + block)
            d2 = sq[start:stop, None] - 2.0 * (x64[start:stop] @ x64.T) + sq[None, :]
            np.maximum(d2, 0.0, out=d2)
            rows = np.arange(stop - start)
            d2[rows, np.arange(start, stop)] = np.inf  # the query itself: least similar of all
            # Ascending similarity ranks: the query takes rank 1, so the others hold 2..n; shift them to 1..n-1.
            ranks = rankdata(-d2, axis=1, method="average") - 1.0
            same = y[None, :] == y[start:stop, None]
            same[rows, np.arange(start, stop)] = False
            pos = same_count[start:stop].astype(np.float64)
            neg = other_count[start:stop].astype(np.float64)
            rank_sum = np.where(same, ranks, 0.0).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                auc = (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)
            out[start:stop] = np.where((pos > 0) & (neg > 0), auc, np.nan)
            bar.update(stop - start)
    finally:
        bar.close()
    return out


def ann_recall(index: Any, features: np.ndarray, *, k: int = SIMILAR_COVERS, queries: np.ndarray | None = None) -> float:
    """Mean recall@k of ``index`` against exact Euclidean search over ``features``.

    ``queries`` are row numbers of ``features`` (default all); each query's own row is left out of
    both answers (it is trivially found), so recall counts only real neighbours.
    """
    features = np.asarray(features, dtype=np.float32)
    rows = np.arange(len(features)) if queries is None else np.asarray(queries, dtype=np.int64)
    if k < 1 or k >= len(features):
        raise InputError(f"k must be between 1 and {len(features) - 1} (the covers minus the query), got {k}.")
    exact, _ = ExactIndex(features).search(features[rows], k + 1)
    found, _ = index.search(features[rows], k + 1)
    hits = 0
    for q, truth, got in zip(rows, exact, found):
        truth = [i for i in truth if i != q][:k]
        got = [i for i in got if i != q][:k]
        hits += len(set(truth) & set(got))
    return hits / (k * len(rows))


@dataclass(frozen=True)
class Neighbour:
    path: str
    genre: str
    distance: float


@dataclass
class CoverIndex:
    """Covers (paths, genres) and a FAISS index of their descriptor rows (unit length when ``normalize``)."""

    covers: CoverSet
    featurizer_name: str
    normalize: bool
    index: FaissIndex
    featurizer_info: dict[str, Any]
    provenance: dict[str, Any]

    def _vectors(self, features: np.ndarray) -> np.ndarray:
        return unit_rows(features) if self.normalize else np.asarray(features, dtype=np.float32)

    def neighbours(self, features: np.ndarray, k: int = SIMILAR_COVERS) -> list[list[Neighbour]]:
        """The ``k`` nearest covers of each feature row (in this index's descriptor space), nearest first."""
        idx, dist = self.index.search(self._vectors(np.atleast_2d(features)), k)
        return [
            [Neighbour(self.covers.paths[i], self.covers.genre_of(i), float(d)) for i, d in zip(row_i, row_d)]
            for row_i, row_d in zip(idx, dist)
        ]

    def similar(self, images: Sequence[Any], k: int = SIMILAR_COVERS, *, featurizer: BaseFeaturizer | None = None) -> list[list[Neighbour]]:
        """The nearest covers of each image (paths or anything ``load_image`` takes), nearest first."""
        featurizer = featurizer or resolve_featurizer(self.featurizer_name)
        if featurizer.name != self.featurizer_name:
            raise InputError(
                f"this cover index was built with {self.featurizer_name!r}, not {featurizer.name!r}; query with the same featurizer."
            )
        return self.neighbours(featurizer.transform(list(images)), k)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path/`` (manifest.json, covers.json, labels.npz, index.faiss) atomically."""

        def write(staging: Path) -> None:
            self.index.save(staging / "index.faiss")
            save_arrays(staging / "labels.npz", labels=self.covers.labels)
            covers = {"paths": list(self.covers.paths), "genres": list(self.covers.genres), "sha256": list(self.covers.sha256)}
            (staging / "covers.json").write_text(json.dumps(covers, ensure_ascii=False) + "\n", encoding="utf-8")

        return save_artifact(
            path, kind="cover_index",
            write=write,
            config={"featurizer": self.featurizer_name, "normalize": self.normalize, "index": self.index.describe()},
            featurizer=self.featurizer_info,
            counts={"covers": len(self.covers), **self.covers.counts()},
            provenance=self.provenance,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "CoverIndex":
        artifact = open_artifact(path, "cover_index")
        with artifact.reading():
            config = artifact.manifest["config"]
            covers_json = json.loads(artifact.file("covers.json").read_text(encoding="utf-8"))
            labels = artifact.arrays("labels.npz")["labels"]
            covers = CoverSet(paths=tuple(covers_json["paths"]), labels=labels.astype(np.int64),
                              genres=tuple(covers_json["genres"]), sha256=tuple(covers_json["sha256"]),
                              root=str(artifact.manifest.get("provenance", {}).get("root", "")))
            index = FaissIndex.load(artifact.file("index.faiss"))
        if len(index) != len(covers):
            raise artifact.malformed(f"holds {len(index)} vectors for {len(covers)} covers")
        return cls(covers=covers, featurizer_name=str(config["featurizer"]), normalize=bool(config["normalize"]), index=index,
                   featurizer_info=dict(artifact.manifest.get("featurizer", {})), provenance=dict(artifact.manifest.get("provenance", {})))


def build_cover_index(
    covers: CoverSet,
    featurizer: BaseFeaturizer | str = "gist",
    *,
    normalize: bool = True,
    kind: Literal["hnsw", "flat"] = "hnsw",
    m: int = 32,
    ef_construction: int = 200,
    ef_search: int = 128,
    threads: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool | None = None,
) -> CoverIndex:
    """Describe every cover (cached by content; undecodable ones reported and skipped) and index them."""
    featurizer = resolve_featurizer(featurizer)
    kept, features, failures = describe_covers(covers, featurizer, cache_dir=cache_dir, show_progress=show_progress)
    if len(kept) == 0:
        raise InputError(f"none of the {len(covers)} covers could be decoded (first: {failures[:1]}); check the folder.")
    vectors = unit_rows(features) if normalize else features
    index = FaissIndex(vectors, kind=kind, m=m, ef_construction=ef_construction, ef_search=ef_search, threads=threads)
    provenance = {**covers.provenance, "failures": [list(f) for f in failures], "indexed": len(kept)}
    return CoverIndex(covers=kept, featurizer_name=featurizer.name, normalize=normalize, index=index,
                      featurizer_info=featurizer.describe(), provenance=provenance)
