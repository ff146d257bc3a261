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
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0
# The reference's SIGMOID_BOUND: outside [-6, 6] the sigmoid is taken as exactly 0 or 1.
_BOUND = np.float32(6.0)


@intrinsic
def _prefetch(typingctx, arr, row, col):  # type: ignore[no-untyped-def]
    """Ask the CPU to start loading ``arr[row, col]``'s cache line (llvm.prefetch: read/write, high locality)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2):
        return None
    sig = types.void(arr, row, col)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        inds = [context.cast(builder, v, t, types.intp) for v, t in zip(args[1:], signature.args[1:])]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, inds, wraparound=False)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(1), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


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
    if not update:
        for i in range(n_samples):
            state += _GOLDEN
            edge = _draw(_mix(state), n_edges, edge_prob, edge_alias)
            checksum += src[edge] + dst[edge]
            for d in range(negative):
                state += _GOLDEN
                checksum += _draw(_mix(state), n_nodes, noise_prob, noise_alias)
        states[tid] = state
        out[tid, 0] = checksum
        out[tid, 1] = 0
        return
    # Sample i+1 is drawn, and its rows prefetched, before sample i is trained:
    # the matrices outgrow the caches, and waiting on those rows is most of the cost.
    # plan[b, 0] is the source node, plan[b, 1] the edge's target, plan[b, 2:] the negatives.
    plan = np.empty((2, negative + 2), np.int64)
    for i in range(n_samples + 1):
        if i < n_samples:
            b = i & 1
            state += _GOLDEN
            edge = _draw(_mix(state), n_edges, edge_prob, edge_alias)
            plan[b, 0] = src[edge]
            plan[b, 1] = dst[edge]
            for d in range(negative):
                state += _GOLDEN
                plan[b, 2 + d] = _draw(_mix(state), n_nodes, noise_prob, noise_alias)
            for j in range(0, dim, 16):  # 16 float32 = one 64-byte cache line
                _prefetch(emb, plan[b, 0], j)
                for d in range(1, negative + 2):
                    _prefetch(ctx, plan[b, d], j)
        if i == 0:
            continue
        b = (i - 1) & 1
        # Linear decay from rho0 to rho0 * 1e-4 over the run, as in the reference.
        rho = rho0 * (1.0 - (first_count + (i - 1) * stride) * scale)
        if rho < rho_min:
            rho = rho_min
        u = plan[b, 0]
        with_loss = ((i - 1) % loss_every) == 0
        # Rows are indexed in place, not sliced: a slice is a new array view whose
        # reference count both threads would bump atomically on every target.
        for j in range(dim):
            err[j] = 0.0
        for d in range(negative + 1):
            target = plan[b, 1 + d]
            # Negatives equal to u or v are kept, as in the reference: a hub drawn as its own
            # negative has its norm shrunk, and skipping that lets hub vectors grow without
            # bound (order-1 link AUC on the paper-shaped graph fell from 0.67 to 0.37).
            label = np.float32(1.0) if d == 0 else np.float32(0.0)
            x = np.float32(0.0)
            for j in range(dim):
                x += emb[u, j] * ctx[target, j]
            # Beyond |x| > 6 the reference's sigmoid table returns exactly 0 or 1, so a pair that
            # is already well separated stops moving. This bound is what keeps order-1 norms in
            # check on long runs (an exact sigmoid keeps inflating popular nodes' vectors).
            if x > _BOUND:
                x = _BOUND
                sig = np.float32(1.0)
            elif x < -_BOUND:
                x = -_BOUND
                sig = np.float32(0.0)
            else:
                sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-x))
            g = np.float32((label - sig) * rho)
            for j in range(dim):
                err[j] += g * ctx[target, j]
                ctx[target, j] += g * emb[u, j]
            if with_loss:
                # -log sigmoid(x) for the edge, -log sigmoid(-x) for a negative.
                e = np.exp(-x)
                if d == 0:
                    loss += np.log1p(e)
                else:
                    loss += x + np.log1p(e)
        if with_loss:
            n_loss += 1
        for j in range(dim):
            emb[u, j] += err[j]
    states[tid] = state
    out[tid, 0] = loss
    out[tid, 1] = n_loss
