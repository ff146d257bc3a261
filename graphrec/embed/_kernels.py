"""Compiled inner loops of LINE: edge sampling, negative sampling and the SGD update.

One call trains one thread's share of one chunk. Threads share the embedding
matrices and update them without locks (Hogwild, as the C++ reference does);
each thread owns its random state, so one thread with one seed is bit-for-bit
reproducible.

Random numbers come from splitmix64: one 64-bit draw gives both the alias slot
(high 32 bits, Lemire's multiply-shift) and the keep/alias coin (low 32 bits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0
# exp() of more than this overflows nothing in float32 but gives a gradient of exactly 0 or 1 anyway.
_BOUND = np.float32(30.0)


@njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always")
def _draw(r: np.uint64, n: np.uint64, prob: np.ndarray, alias: np.ndarray) -> np.int64:
    """One alias-table draw from one 64-bit random number."""
    slot = np.int64(((r >> _S32) * n) >> _S32)
    coin = np.float64(r & _LOW32) * _INV32
    if coin < prob[slot]:
        return slot
    return np.int64(alias[slot])


@njit(nogil=True, cache=True)
def seed_states(seed: int, salt: int, count: int) -> np.ndarray:
    """Independent per-thread starting states derived from one user seed."""
    out = np.empty(count, np.uint64)
    base = _mix(np.uint64(seed) * _GOLDEN + np.uint64(salt))
    for i in range(count):
        out[i] = _mix(base + np.uint64(i + 1) * _GOLDEN)
    return out


@njit(nogil=True, cache=True)
def draw_alias(prob: np.ndarray, alias: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` draws with the kernel's own generator and draw rule, for tests of what training samples."""
    out = np.empty(n, np.int64)
    state = seed_states(seed, 0, 1)[0]
    size = np.uint64(prob.shape[0])
    for i in range(n):
        state += _GOLDEN
        out[i] = _draw(_mix(state), size, prob, alias)
    return out


@njit(nogil=True, fastmath=True, cache=True)
def train_thread(
    emb: np.ndarray,  # float32 (num_nodes, dim): vertex vectors, updated in place
    ctx: np.ndarray,  # float32 (num_nodes, dim): context vectors (order 2) or ``emb`` itself (order 1)
    src: np.ndarray,  # int32 (num_edges,)
    dst: np.ndarray,  # int32 (num_edges,)
    edge_prob: np.ndarray,  # float64 alias table over edges
    edge_alias: np.ndarray,  # int32
    noise_prob: np.ndarray,  # float64 alias table over nodes, ∝ degree^0.75
    noise_alias: np.ndarray,  # int32
    negative: int,
    n_samples: int,  # this thread's share of this chunk
    first_count: int,  # global index of this thread's first sample, for the learning-rate schedule
    stride: int,  # global samples between two of this thread's samples (= number of threads)
    total: int,  # samples in the whole run (this order)
    rho0: float,
    states: np.ndarray,  # uint64 (threads,): per-thread random state, advanced in place
    tid: int,
    update: bool,  # False: only sample (to time sampling apart from the gradient step)
    loss_every: int,  # evaluate the loss on every loss_every-th sample (log() is not free)
    out: np.ndarray,  # float64 (threads, 2): loss sum and loss sample count, written for ``tid``
) -> None:
    dim = emb.shape[1]
    err = np.zeros(dim, np.float32)
    state = states[tid]
    n_edges = np.uint64(edge_prob.shape[0])
    n_nodes = np.uint64(noise_prob.shape[0])
    rho_min = rho0 * 1e-4
    scale = 1.0 / (total + 1.0)
    loss = 0.0
    n_loss = 0
    checksum = 0
    for i in range(n_samples):
        # Linear decay from rho0 to rho0 * 1e-4 over the run, as in the reference.
        rho = rho0 * (1.0 - (first_count + i * stride) * scale)
        if rho < rho_min:
            rho = rho_min
        state += _GOLDEN
        edge = _draw(_mix(state), n_edges, edge_prob, edge_alias)
        u = src[edge]
        v = dst[edge]
        with_loss = (i % loss_every) == 0
        if not update:
            checksum += u + v
            for d in range(negative):
                state += _GOLDEN
                checksum += _draw(_mix(state), n_nodes, noise_prob, noise_alias)
            continue
        # Rows are indexed in place, not sliced: a slice is a new array view whose
        # reference count both threads would bump atomically on every target.
        for j in range(dim):
            err[j] = 0.0
        for d in range(negative + 1):
            if d == 0:
                target = np.int64(v)
                label = np.float32(1.0)
            else:
                state += _GOLDEN
                target = _draw(_mix(state), n_nodes, noise_prob, noise_alias)
                # A "negative" equal to either endpoint would push the edge apart; word2vec skips these too.
                if target == u or target == v:
                    continue
                label = np.float32(0.0)
            x = np.float32(0.0)
            for j in range(dim):
                x += emb[u, j] * ctx[target, j]
            if x > _BOUND:
                x = _BOUND
            elif x < -_BOUND:
                x = -_BOUND
            e = np.exp(-x)
            sig = np.float32(1.0) / (np.float32(1.0) + e)
            g = np.float32((label - sig) * rho)
            for j in range(dim):
                err[j] += g * ctx[target, j]
                ctx[target, j] += g * emb[u, j]
            if with_loss:
                # -log sigmoid(x) for the edge, -log sigmoid(-x) for a negative.
                if d == 0:
                    loss += np.log1p(e)
                else:
                    loss += x + np.log1p(e)
        if with_loss:
            n_loss += 1
        for j in range(dim):
            emb[u, j] += err[j]
    states[tid] = state
    if update:
        out[tid, 0] = loss
        out[tid, 1] = n_loss
    else:
        out[tid, 0] = checksum
        out[tid, 1] = 0
