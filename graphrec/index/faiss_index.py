"""Approximate (or exact) Euclidean nearest-neighbour search through FAISS, saved with FAISS's own format.

``FaissIndex`` keeps :class:`graphrec.index.ExactIndex`'s contract: ``search(queries, k)`` returns
``(indices int64, distances float32)``, each ``(n_queries, min(k, len(index)))``, nearest first, the
distances Euclidean (FAISS reports squared L2; we take the root). The metric is L2 only.

Kinds (``kind=``):

* ``"hnsw"``: ``IndexHNSWFlat``: a graph search over the raw vectors; ``m`` links per node,
  ``ef_construction`` candidates while building, ``ef_search`` while querying (raised to ``k``
  when smaller, so a query never comes back short).
* ``"flat"``: ``IndexFlatL2``: exhaustive search, FAISS's exact reference.
* ``"ivfpq"``: ``IVF{nlist},PQ{pq_m}x8np,Refine(SQfp16)``: the vectors are split into ``nlist`` k-means
  cells and stored as product-quantised codes of ``pq_m`` bytes; a query scans the ``nprobe`` nearest
  cells, and the ``k_factor * k`` best candidates are re-ranked on float16 copies of the vectors, so
  the distances returned are (float16-)exact. For millions of vectors: it builds in minutes where
  HNSW takes hours on a few cores, and a query reads a few thousand codes.

Kinds that must be trained (IVF families) fit the same shape: the constructor trains an index
whose ``is_trained`` is false on the vectors before adding them (``ivfpq``: on a seeded sample of
``train_size`` rows, default 40 per cell).

FAISS builds an HNSW graph with several OpenMP threads; the insertion order, and so the graph, can
then differ from run to run. ``threads=1`` makes the build (and every result) reproducible.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from graphrec._io import atomic_path
from graphrec.errors import BackendUnavailableError, InputError, ModelFormatError, describe_path

Kind = Literal["hnsw", "flat", "ivfpq"]
KINDS: tuple[str, ...] = ("hnsw", "flat", "ivfpq")


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



def default_nlist(n: int) -> int:
    """IVF cells for ``n`` vectors: about sqrt(n) (a power of two), at least 1, at most 4096 and n // 39
    (FAISS's k-means wants 39 training points per cell)."""
    target = max(1.0, float(np.sqrt(n)))
    nlist = 1 << int(round(np.log2(target)))
    return int(max(1, min(nlist, 4096, n // 39 or 1)))


def default_pq_m(dim: int) -> int:
    """PQ sub-quantisers: one byte per 16 dimensions, at least 16 bytes (or ``dim``): the largest divisor of ``dim``
    not above that. Coarse codes are enough: they only pick the candidates that the float16 refinement re-ranks."""
    target = max(1, dim // 16, min(dim, 16))
    return next(m for m in range(target, 0, -1) if dim % m == 0)


def _ivfpq(faiss: Any, vectors: np.ndarray, *, nlist: int | None, pq_m: int | None, nprobe: int, k_factor: int,
           train_size: int | None, seed: int) -> tuple[Any, np.ndarray]:
    """An untrained ``IVF,PQ,Refine(SQfp16)`` index for ``vectors`` and the seeded sample to train it on."""
    n, dim = vectors.shape
    nlist = default_nlist(n) if nlist is None else int(nlist)
    pq_m = default_pq_m(dim) if pq_m is None else int(pq_m)
    if dim % pq_m:
        raise InputError(f"FaissIndex pq_m must divide the dimension {dim}, got {pq_m}; pick a divisor such as {default_pq_m(dim)}.")
    # "np": no polysemous training, which takes minutes with many sub-quantisers and only speeds up
    # Hamming filtering, unused here. 8-bit codes need 256 training points per sub-quantiser centroid set, IVF 39 per cell
    need = 39 * max(nlist, 256)
    size = min(n, max(need, 40 * nlist) if train_size is None else int(train_size))
    if size < min(n, need):
        raise InputError(
            f"FaissIndex train_size {train_size} is too small for nlist={nlist} (FAISS needs {need} points); raise it or lower nlist."
        )
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False)) if size < n else slice(None)
    index = faiss.index_factory(dim, f"IVF{nlist},PQ{pq_m}x8np,Refine(SQfp16)", faiss.METRIC_L2)
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = min(nprobe, nlist)
    ivf.cp.seed = seed
    index.k_factor = float(k_factor)
    return index, np.ascontiguousarray(vectors[rows])


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
        nlist: int | None = None,
        pq_m: int | None = None,
        nprobe: int = 32,
        k_factor: int = 16,
        train_size: int | None = None,
        seed: int = 0,
    ) -> None:
        if kind not in KINDS:
            raise InputError(
                f"FaissIndex kind must be one of {', '.join(KINDS)}, got {kind!r}; pick 'hnsw' or 'ivfpq' (approximate) "
                "or 'flat' (exact)."
            )
        for name, value in (("m", m), ("ef_construction", ef_construction), ("ef_search", ef_search),
                            ("nprobe", nprobe), ("k_factor", k_factor), ("nlist", nlist or 1), ("pq_m", pq_m or 1),
                            ("train_size", train_size or 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"FaissIndex {name} must be a positive integer, got {value!r}.")
        if threads is not None and (not isinstance(threads, (int, np.integer)) or threads < 1):
            raise InputError(f"FaissIndex threads must be a positive integer or None (FAISS's default), got {threads!r}.")
        vectors = _as_matrix(vectors, "FaissIndex vectors", "recompute the features or embeddings.")
        if vectors.shape[0] == 0 or vectors.shape[1] == 0:
            raise InputError(f"FaissIndex needs a non-empty 2-D array of vectors, got shape {vectors.shape}; pass one row per item.")
        faiss = _faiss()
        dim = int(vectors.shape[1])
        training = vectors
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, int(m), faiss.METRIC_L2)
            index.hnsw.efConstruction = int(ef_construction)
            index.hnsw.efSearch = int(ef_search)
        elif kind == "ivfpq":
            index, training = _ivfpq(faiss, vectors, nlist=nlist, pq_m=pq_m, nprobe=int(nprobe), k_factor=int(k_factor),
                                     train_size=train_size, seed=int(seed))
        else:
            index = faiss.IndexFlatL2(dim)
        with _omp_threads(threads):
            if not index.is_trained:
                index.train(training)
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
        elif self.kind == "ivfpq":
            ivf = _faiss().downcast_index(self._index.base_index)  # the IndexIVFPQ, not owned: self._index keeps it alive
            info.update(nlist=int(ivf.nlist), pq_m=int(ivf.pq.M), nprobe=int(ivf.nprobe), k_factor=int(self._index.k_factor),
                        refine="SQfp16")
        return info

    @property
    def nprobe(self) -> int | None:
        return int(_faiss().extract_index_ivf(self._index).nprobe) if self.kind == "ivfpq" else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.kind != "ivfpq":
            raise InputError(f"nprobe applies to 'ivfpq' indexes only; this one is {self.kind!r}.")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"nprobe must be a positive integer, got {value!r}.")
        ivf = _faiss().extract_index_ivf(self._index)
        ivf.nprobe = min(int(value), int(ivf.nlist))

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
            if self.kind == "ivfpq":
                squared, indices = self._widen_short(queries, k, squared, indices)
        if (indices < 0).any():  # FAISS pads with -1 when it finds fewer than k; cannot happen with ef >= k
            raise InputError(
                f"the {self.kind} index returned fewer than k={k} neighbours for some queries; raise ef_search."
            )
        distances = np.sqrt(np.maximum(squared, 0.0)).astype(np.float32, copy=False)
        return indices.astype(np.int64, copy=False), distances

    def _widen_short(self, queries: np.ndarray, k: int, squared: np.ndarray, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """IVF: a query whose ``nprobe`` cells hold fewer than ``k`` vectors comes back padded with -1; search
        those queries again over 4 times as many cells, up to all of them (then every vector is reachable)."""
        faiss = _faiss()
        ivf = faiss.extract_index_ivf(self._index)
        nprobe = int(ivf.nprobe)
        short = np.flatnonzero((indices < 0).any(axis=1))
        while len(short) and nprobe < ivf.nlist:
            nprobe = min(int(ivf.nlist), nprobe * 4)
            params = faiss.IndexRefineSearchParameters(k_factor=self._index.k_factor, base_index_params=faiss.SearchParametersIVF(nprobe=nprobe))
            squared[short], indices[short] = self._index.search(queries[short], k, params=params)
            short = short[(indices[short] < 0).any(axis=1)]
        return squared, indices

    def to_bytes(self) -> bytes:
        """The index in FAISS's own format, as bytes (what :meth:`save` writes), for a model folder's checked file."""
        return bytes(_faiss().serialize_index(self._index))

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "FAISS index bytes") -> "FaissIndex":
        """Read what :meth:`to_bytes` wrote; ``source`` names it in errors (a ModelFormatError)."""
        faiss = _faiss()
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise _unreadable(faiss, source, exc) from None
        return cls._wrap(index, _kind_of(faiss, index, source))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the index to the file ``path`` with FAISS's ``write_index``, atomically (temp name, then rename)."""
        target = Path(path)
        with atomic_path(target) as tmp:
            _faiss().write_index(self._index, str(tmp))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "FaissIndex":
        """Read an index written by :meth:`save` (or any FAISS L2 flat/HNSW/IVF-PQ-refine index file)."""
        faiss = _faiss()
        source = Path(path)
        if not source.is_file():
            raise ModelFormatError(f"no FAISS index file at {describe_path(source)}; build and save one with FaissIndex(...).save(path).")
        try:
            index = faiss.read_index(str(source))
        except RuntimeError as exc:
            raise _unreadable(faiss, describe_path(source), exc) from None
        return cls._wrap(index, _kind_of(faiss, index, describe_path(source)))

    def __repr__(self) -> str:
        return f"<FaissIndex {self.kind} dim={self.dim} size={len(self)}>"


def _unreadable(faiss: Any, source: str, exc: RuntimeError) -> ModelFormatError:
    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return ModelFormatError(
        f"{source} is not a FAISS index file FAISS {faiss.__version__} can read ({first}); "
        "it was truncated or is another kind of file: rebuild the index."
    )


def _kind_of(faiss: Any, index: Any, source: str) -> str:
    """The kind of a FAISS index read back; ModelFormatError naming ``source`` for any other index or metric."""
    # read_index hands back the concrete class already; do not downcast_index() it: that returns a
    # second wrapper that does not own the C++ object, freed as soon as the first is dropped.
    if isinstance(index, faiss.IndexHNSWFlat):
        kind = "hnsw"
    elif isinstance(index, faiss.IndexFlat):
        kind = "flat"
    elif isinstance(index, faiss.IndexRefine) and isinstance(faiss.downcast_index(index.base_index), faiss.IndexIVFPQ):
        kind = "ivfpq"
    else:
        raise ModelFormatError(
            f"{source} holds a FAISS {type(index).__name__}, expected one of {', '.join(KINDS)} "
            "(IndexHNSWFlat, IndexFlatL2, IndexRefine over IndexIVFPQ); rebuild it with FaissIndex."
        )
    if index.metric_type != faiss.METRIC_L2:
        raise ModelFormatError(
            f"{source} holds an index with FAISS metric {index.metric_type}, expected L2 "
            f"({faiss.METRIC_L2}); rebuild it with FaissIndex, whose metric is Euclidean."
        )
    return kind
