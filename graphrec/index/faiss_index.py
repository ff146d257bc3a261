"""Approximate (or exact) Euclidean nearest-neighbour search through FAISS, saved with FAISS's own format.

``FaissIndex`` keeps :class:`graphrec.index.ExactIndex`'s contract: ``search(queries, k)`` returns
``(indices int64, distances float32)``, each ``(n_queries, min(k, len(index)))``, nearest first, the
distances Euclidean (FAISS reports squared L2; we take the root). The metric is L2 only.

Kinds (``kind=``):

* ``"hnsw"``: ``IndexHNSWFlat``: a graph search over the raw vectors; ``m`` links per node,
  ``ef_construction`` candidates while building, ``ef_search`` while querying (raised to ``k``
  when smaller, so a query never comes back short).
* ``"flat"``: ``IndexFlatL2``: exhaustive search, FAISS's exact reference.

Kinds that must be trained (IVF families) fit the same shape: the constructor trains an index
whose ``is_trained`` is false on the vectors before adding them.

FAISS builds an HNSW graph with several OpenMP threads; the insertion order, and so the graph, can
then differ from run to run. ``threads=1`` makes the build (and every result) reproducible.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from graphrec._io import fsync_dir
from graphrec.errors import BackendUnavailableError, InputError, ModelFormatError, describe_path

Kind = Literal["hnsw", "flat"]
KINDS: tuple[str, ...] = ("hnsw", "flat")


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a declared dependency
        raise BackendUnavailableError(
            "FaissIndex needs the package faiss-cpu, which is not importable here; install it with `pip install faiss-cpu`."
        ) from exc
    return faiss


@contextlib.contextmanager
def _omp_threads(threads: int | None) -> Iterator[None]:
    """FAISS's thread count is process-wide: set it for one call and put the old value back."""
    if threads is None:
        yield
        return
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _as_matrix(values: np.ndarray, what: str, fix: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise InputError(f"{what} must be a 2-D array (one row per vector), got shape {array.shape}; {fix}")
    if not np.isfinite(array).all():
        raise InputError(f"{what} contain NaN or infinity; {fix}")
    return np.ascontiguousarray(array)


class FaissIndex:
    """Euclidean k-NN over the rows of ``vectors`` with a FAISS index of the given ``kind``."""

    metric = "l2"

    def __init__(
        self,
        vectors: np.ndarray,
        *,
        kind: Kind = "hnsw",
        m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        threads: int | None = None,
    ) -> None:
        if kind not in KINDS:
            raise InputError(
                f"FaissIndex kind must be one of {', '.join(KINDS)}, got {kind!r}; pick 'hnsw' (approximate) or 'flat' (exact)."
            )
        for name, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"FaissIndex {name} must be a positive integer, got {value!r}.")
        if threads is not None and (not isinstance(threads, (int, np.integer)) or threads < 1):
            raise InputError(f"FaissIndex threads must be a positive integer or None (FAISS's default), got {threads!r}.")
        vectors = _as_matrix(vectors, "FaissIndex vectors", "recompute the features or embeddings.")
        if vectors.shape[0] == 0 or vectors.shape[1] == 0:
            raise InputError(f"FaissIndex needs a non-empty 2-D array of vectors, got shape {vectors.shape}; pass one row per item.")
        faiss = _faiss()
        dim = int(vectors.shape[1])
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(m), faiss.METRIC_L2)
            index.hnsw.efConstruction = int(ef_construction)
            index.hnsw.efSearch = int(ef_search)
        else:
            index = faiss.IndexFlatL2(dim)
        with _omp_threads(threads):
            if not index.is_trained:
                index.train(vectors)
            index.add(vectors)
        self._index = index
        self.kind: str = kind
        self.threads = threads

    @classmethod
    def _wrap(cls, index: Any, kind: str) -> "FaissIndex":
        self = cls.__new__(cls)
        self._index = index
        self.kind = kind
        self.threads = None
        return self

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def ef_search(self) -> int | None:
        return int(self._index.hnsw.efSearch) if self.kind == "hnsw" else None

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if self.kind != "hnsw":
            raise InputError(f"ef_search applies to 'hnsw' indexes only; this one is {self.kind!r}.")
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"ef_search must be a positive integer, got {value!r}.")
        self._index.hnsw.efSearch = int(value)

    def describe(self) -> dict[str, Any]:
        """The index's kind and parameters, for a manifest."""
        info: dict[str, Any] = {"library": "faiss", "kind": self.kind, "metric": self.metric, "dim": self.dim, "size": len(self)}
        if self.kind == "hnsw":
            hnsw = self._index.hnsw
            # level 0 keeps 2m links per node, the levels above m
            info.update(m=int(hnsw.nb_neighbors(1)), ef_construction=int(hnsw.efConstruction), ef_search=int(hnsw.efSearch))
        return info

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(indices, distances)``, each ``(n_queries, min(k, len(self)))``, nearest first."""
        queries = _as_matrix(queries, "query vectors", "check the input image or features.")
        if queries.shape[1] != self.dim:
            raise InputError(
                f"query vectors must have {self.dim} columns like the index, got shape {queries.shape}; "
                "use the same featurizer or embedding the index was built with."
            )
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}.")
        k = min(int(k), len(self))
        params = None
        if self.kind == "hnsw" and self._index.hnsw.efSearch < k:
            params = _faiss().SearchParametersHNSW(efSearch=k)
        with _omp_threads(self.threads):
            squared, indices = self._index.search(queries, k, params=params)
        if (indices < 0).any():  # FAISS pads with -1 when it finds fewer than k; cannot happen with ef >= k
            raise InputError(
                f"the {self.kind} index returned fewer than k={k} neighbours for some queries; raise ef_search."
            )
        distances = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32, copy=False)
        return indices.astype(np.int64, copy=False), distances

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to the file ``path`` with FAISS's ``write_index``, atomically (temp name, then rename)."""
        faiss = _faiss()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            faiss.write_index(self._index, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "FaissIndex":
        """Read an index written by :meth:`save` (or any FAISS L2 flat/HNSW index file)."""
        faiss = _faiss()
        source = Path(path)
        if not source.is_file():
            raise ModelFormatError(f"no FAISS index file at {describe_path(source)}; build and save one with FaissIndex(...).save(path).")
        try:
            index = faiss.read_index(str(source))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ModelFormatError(
                f"{describe_path(source)} is not a FAISS index file FAISS {faiss.__version__} can read ({first}); "
                "it was truncated or is another kind of file: rebuild the index."
            ) from None
        # read_index hands back the concrete class already; do not downcast_index() it: that returns a
        # second wrapper that does not own the C++ object, freed as soon as the first is dropped.
        if isinstance(index, faiss.IndexHNSWFlat):
            kind = "hnsw"
        elif isinstance(index, faiss.IndexFlat):
            kind = "flat"
        else:
            raise ModelFormatError(
                f"{describe_path(source)} holds a FAISS {type(index).__name__}, expected one of {', '.join(KINDS)} "
                "(IndexHNSWFlat, IndexFlatL2); rebuild it with FaissIndex."
            )
        if index.metric_type != faiss.METRIC_L2:
            raise ModelFormatError(
                f"{describe_path(source)} holds an index with FAISS metric {index.metric_type}, expected L2 "
                f"({faiss.METRIC_L2}); rebuild it with FaissIndex, whose metric is Euclidean."
            )
        return cls._wrap(index, kind)

    def __repr__(self) -> str:
        return f"<FaissIndex {self.kind} dim={self.dim} size={len(self)}>"
