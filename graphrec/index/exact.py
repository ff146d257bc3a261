"""Exact Euclidean nearest-neighbour search with numpy (the paper's retrieval, both stages)."""

from __future__ import annotations

import numpy as np

from graphrec.errors import InputError

# Queries are processed in blocks so the distance matrix stays within a few hundred MB.
_BLOCK_ELEMENTS = 32_000_000


class ExactIndex:
    """Brute-force Euclidean k-NN over the rows of ``vectors``.

    Uses ``|q - x|^2 = |q|^2 - 2 q.x + |x|^2`` (one matrix product per block of queries),
    which is exact up to float32 rounding and far faster than pairwise loops.
    """

    def __init__(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise InputError(
                f"ExactIndex needs a non-empty 2-D array of vectors, got shape {vectors.shape}; "
                "pass one row per item."
            )
        if not np.isfinite(vectors).all():
            raise InputError("ExactIndex vectors contain NaN or infinity; recompute the features or embeddings.")
        self.vectors = np.ascontiguousarray(vectors)
        self._sq_norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(indices, distances)``, each ``(n_queries, k)``, nearest first.

        Ties are broken by the lower index, so results are deterministic.
        """
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(
                f"query vectors must have {self.dim} columns like the index, got shape {queries.shape}; "
                "use the same featurizer or embedding the index was built with."
            )
        if not np.isfinite(queries).all():
            raise InputError("query vectors contain NaN or infinity; check the input image or features.")
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}.")
        k = min(k, len(self))
        n = queries.shape[0]
        out_idx = np.empty((n, k), dtype=np.int64)
        out_dist = np.empty((n, k), dtype=np.float32)
        block = max(1, _BLOCK_ELEMENTS // max(1, len(self)))
        for start in range(0, n, block):
            q = queries[start : start + block]
            d2 = np.einsum("ij,ij->i", q, q)[:, None] - 2.0 * (q @ self.vectors.T) + self._sq_norms[None, :]
            np.maximum(d2, 0.0, out=d2)
            if k < len(self):
                part = np.argpartition(d2, k - 1, axis=1)[:, :k]
            else:
                part = np.broadcast_to(np.arange(len(self)), d2.shape)
            part_d = np.take_along_axis(d2, part, axis=1)
            # lexsort: primary key distance, secondary the index, for stable tie-breaking
            order = np.lexsort((part, part_d), axis=1)
            idx = np.take_along_axis(part, order, axis=1)
            out_idx[start : start + block] = idx
            out_dist[start : start + block] = np.sqrt(np.take_along_axis(part_d, order, axis=1))
        return out_idx, out_dist
