"""Samplers LINE draws from: an alias table over edges (∝ weight) and a noise sampler over nodes (∝ degree^0.75).

Walker's alias method (Vose's construction) gives O(1) draws from any discrete
distribution after O(n) set-up. The same two arrays (``prob``, ``alias``) are
read by the compiled LINE kernel, so what the tests check here is what training
uses. For negatives the C++ LINE reference fills a 1e8-entry unigram table; an
alias table over the nodes gives the same distribution exactly in
``num_nodes * 12`` bytes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from graphrec._log import get_logger

__all__ = ["AliasTable", "weighted_degrees", "noise_distribution", "negative_sampler"]

logger = get_logger(__name__)


@njit(nogil=True, cache=True)
def _vose(scaled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias construction on weights scaled so that they average 1."""
    n = scaled.shape[0]
    prob = np.ones(n, np.float64)
    alias = np.arange(n).astype(np.int32)
    work = scaled.copy()
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    n_small = 0
    n_large = 0
    for i in range(n):
        if work[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        n_large -= 1
        g = large[n_large]
        prob[s] = work[s]
        alias[s] = g
        # The large item gives away what the small one lacked; it may become small itself.
        work[g] = (work[g] + work[s]) - 1.0
        if work[g] < 1.0:
            small[n_small] = g
            n_small += 1
        else:
            large[n_large] = g
            n_large += 1
    # Whatever is left is 1 up to rounding: it always keeps itself.
    for i in range(n_large):
        prob[large[i]] = 1.0
    for i in range(n_small):
        prob[small[i]] = 1.0
    return prob, alias


class AliasTable:
    """Draw index ``i`` with probability ``weights[i] / weights.sum()`` in O(1) per draw.

    ``prob[k]`` is the chance of keeping slot ``k`` once it is picked uniformly;
    otherwise the draw returns ``alias[k]``. Zero weights are allowed and never drawn.
    """

    def __init__(self, weights: np.ndarray, *, name: str = "weights") -> None:
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"AliasTable: {name} must be a non-empty 1-D array, got shape {w.shape}.")
        if not np.all(np.isfinite(w)):
            bad = int(np.flatnonzero(~np.isfinite(w))[0])
            raise ValueError(f"AliasTable: {name} must be finite, got {w[bad]!r} at index {bad}; drop or fix that entry.")
        if np.any(w < 0):
            bad = int(np.flatnonzero(w < 0)[0])
            raise ValueError(f"AliasTable: {name} must be >= 0, got {w[bad]!r} at index {bad}; weights are relevances, not signed scores.")
        total = float(w.sum())
        if not total > 0:
            raise ValueError(f"AliasTable: {name} must have a positive sum, got all zeros ({w.size} entries).")
        self.size = int(w.size)
        self.probabilities = w / total
        prob, alias = _vose(self.probabilities * self.size)
        self.prob: np.ndarray = prob  # float64 (n,)
        self.alias: np.ndarray = alias  # int32 (n,)

    def __len__(self) -> int:
        return self.size

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """``n`` independent draws as int64 indices (vectorised; no Python loop per draw)."""
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"AliasTable.sample: n must be a non-negative integer, got {n!r}.")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        slot = gen.integers(0, self.size, size=int(n), dtype=np.int64)
        keep = gen.random(int(n)) < self.prob[slot]
        return np.where(keep, slot, self.alias[slot].astype(np.int64))


def weighted_degrees(src: np.ndarray, weight: np.ndarray, num_nodes: int) -> np.ndarray:
    """Sum of outgoing edge weights per node, as the C++ LINE reference defines a vertex's degree.

    LINE's input lists each undirected edge in both directions, so the out-degree is the degree.
    """
    return np.bincount(np.asarray(src, dtype=np.int64), weights=np.asarray(weight, dtype=np.float64), minlength=num_nodes)


def noise_distribution(degrees: np.ndarray, power: float = 0.75) -> np.ndarray:
    """The negative-sampling distribution: ``degree ** power`` normalised (nodes of degree 0 get 0)."""
    d = np.asarray(degrees, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"noise_distribution: degrees must be a non-empty 1-D array, got shape {d.shape}.")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("noise_distribution: degrees must be finite and >= 0; found a negative or NaN degree.")
    if not (np.isfinite(power) and power > 0):
        raise ValueError(f"noise_distribution: power must be a positive number (LINE uses 0.75), got {power!r}.")
    p = np.power(d, power)
    total = p.sum()
    if not total > 0:
        raise ValueError("noise_distribution: every degree is 0, so there is nothing to sample negatives from.")
    return p / total


def negative_sampler(degrees: np.ndarray, power: float = 0.75) -> AliasTable:
    """An alias table over nodes with probability ∝ ``degree ** power`` (LINE's noise distribution)."""
    return AliasTable(noise_distribution(degrees, power), name="degree ** power")
