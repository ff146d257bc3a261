"""One place that decides which nearest-neighbour index a set of vectors gets: exact numpy or FAISS.

``make_index(vectors, kind="auto")`` is what the recommender's first stage calls. ``"auto"`` keeps
:class:`~graphrec.index.ExactIndex` below ``threshold`` vectors (a scan of 20,000 unit vectors of
1,280 dimensions takes about 4 ms on 2 cores, and it is exact), then FAISS HNSW (about 2 ms a query
up to 100,000 vectors, recall@5 >= 0.97), and IVF-PQ from ``ivfpq_from`` vectors on, where an HNSW
graph takes too long to build on a few cores (282 s for 100,000 vectors on 2 cores; IVF-PQ 86 s)
(``benchmarks/index_scale.py`` measures build time, memory, latency and recall@5 of each;
``docs/scaling.md`` has the numbers behind these defaults).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from graphrec.errors import InputError
from graphrec.index.exact import ExactIndex
from graphrec.index.faiss_index import FaissIndex

IndexKind = Literal["auto", "exact", "hnsw", "ivfpq"]
INDEX_KINDS: tuple[str, ...] = ("auto", "exact", "hnsw", "ivfpq")
#: "auto": exact search below this many vectors
EXACT_BELOW = 20_000
#: "auto": IVF-PQ from this many vectors on, HNSW between EXACT_BELOW and this
IVFPQ_FROM = 200_000
#: HNSW settings of an index made here: recall@5 >= 0.99 on clustered 1,280-d vectors up to 100k (benchmark)
HNSW_OPTIONS: dict[str, int] = {"m": 32, "ef_construction": 80, "ef_search": 64}


@runtime_checkable
class Index(Protocol):
    """What the recommender asks of an index: ExactIndex's contract."""

    @property
    def dim(self) -> int: ...

    def __len__(self) -> int: ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


def resolve_kind(n: int, kind: str = "auto", *, threshold: int = EXACT_BELOW, ivfpq_from: int = IVFPQ_FROM) -> str:
    """The concrete kind ("exact", "hnsw" or "ivfpq") that ``kind`` means for ``n`` vectors."""
    if kind not in INDEX_KINDS:
        raise InputError(f"index kind must be one of {', '.join(INDEX_KINDS)}, got {kind!r}; 'auto' picks by size.")
    if kind != "auto":
        return kind
    if n < threshold:
        return "exact"
    return "hnsw" if n < max(ivfpq_from, threshold) else "ivfpq"


def index_kind(index: Any) -> str:
    """"exact" for an ExactIndex, else the FAISS index's kind."""
    return "exact" if isinstance(index, ExactIndex) else str(getattr(index, "kind", type(index).__name__))


def describe_index(index: Any) -> dict[str, Any]:
    """Kind, size and parameters of ``index``, for a manifest."""
    if isinstance(index, FaissIndex):
        return index.describe()
    return {"kind": index_kind(index), "dim": int(index.dim), "size": len(index)}


def make_index(
    vectors: np.ndarray,
    kind: str = "auto",
    *,
    threshold: int = EXACT_BELOW,
    ivfpq_from: int = IVFPQ_FROM,
    reuse: Any = None,
    threads: int | None = None,
    seed: int = 0,
) -> ExactIndex | FaissIndex:
    """An index over the rows of ``vectors``: ``kind`` "exact", "hnsw", "ivfpq", or "auto" (by size, see the module).

    ``reuse`` is an index built earlier over the same vectors (e.g. read back with a model): it is
    returned as it is when its kind and shape are what ``kind`` asks for, so loading a model does not
    rebuild its FAISS index.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    n = int(vectors.shape[0]) if vectors.ndim == 2 else 0
    concrete = resolve_kind(n, kind, threshold=threshold, ivfpq_from=ivfpq_from)
    if reuse is not None and index_kind(reuse) == concrete and len(reuse) == n and vectors.ndim == 2 and reuse.dim == vectors.shape[1]:
        return reuse
    if concrete == "exact":
        return ExactIndex(vectors)
    if concrete == "hnsw":
        return FaissIndex(vectors, kind="hnsw", threads=threads, **HNSW_OPTIONS)
    return FaissIndex(vectors, kind="ivfpq", threads=threads, seed=seed)


__all__ = [
    "EXACT_BELOW", "INDEX_KINDS", "IVFPQ_FROM", "Index", "IndexKind", "describe_index", "index_kind", "make_index", "resolve_kind",
]
