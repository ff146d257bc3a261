"""LINE graph embedding (Tang et al., WWW 2015) trained by a compiled, lock-free (Hogwild) SGD.

First order keeps one vector per node and models an edge as sigmoid(u·v);
second order gives each node a vertex vector and a context vector and models
sigmoid(u·c_v). Edges are drawn ∝ weight from an alias table, ``negative``
noise nodes ∝ weighted-degree^0.75 per edge, and the learning rate falls
linearly from ``rho`` to ``rho * 1e-4`` over the run: the C++ reference's
recipe, including its initialisation (vertex vectors uniform in
[-0.5/dim, 0.5/dim], context vectors zero).

The run is cut into about 50 chunks; each chunk is one compiled call per
thread, so progress, the loss and ``callback(step, loss)`` are reported between
chunks at no cost to the inner loop. With ``threads=1`` a seed gives
bit-identical vectors; with more threads the lock-free updates race (as in the
reference) and results vary slightly from run to run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from graphrec._env import cpu_count
from graphrec._log import get_logger, progress
from graphrec.errors import InputError
from graphrec.graph.sampling import AliasTable, negative_sampler, weighted_degrees

__all__ = ["LineConfig", "LineResult", "train_line", "default_samples", "time_sampling", "compile_kernels"]

logger = get_logger(__name__)

Order = Literal[1, 2, "both"]

# The loss is measured on every LOSS_EVERY-th edge sample: enough for a smooth
# curve, and log() on every sample would cost several percent of the run.
LOSS_EVERY = 8
DEFAULT_CHUNKS = 50
# Default run length: each directed edge drawn this many times on average,
# but never fewer than the reference's default of 1M samples.
SAMPLES_PER_EDGE = 50
MIN_DEFAULT_SAMPLES = 1_000_000


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class LineConfig:
    """How to train LINE. Validated at construction.

    ``samples`` is the number of edge samples *per order*; ``None`` means
    ``max(1_000_000, 50 * number of directed edges)`` (see :func:`default_samples`).
    ``threads=0`` uses every core this process may run on.
    """

    dim: int = 128
    order: Order = "both"
    negative: int = 5
    samples: int | None = None
    rho: float = 0.025
    seed: int = 0
    threads: int = 0

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> InputError:
            return InputError(f"LineConfig.{name} must be {expected}, got {getattr(self, name)!r}.")

        if not _is_int(self.dim) or self.dim < 1:
            raise bad("dim", "a positive integer (the paper uses 128)")
        if self.order not in (1, 2, "both") or isinstance(self.order, bool):
            raise bad("order", "1, 2 or 'both'")
        if not _is_int(self.negative) or self.negative < 1:
            raise bad("negative", "a positive integer (LINE uses 5)")
        if self.samples is not None and (not _is_int(self.samples) or self.samples < 1):
            raise bad("samples", "a positive integer or None (derived from the edge count)")
        if isinstance(self.rho, bool) or not isinstance(self.rho, (int, float)) or not (math.isfinite(self.rho) and self.rho > 0):
            raise bad("rho", "a positive finite learning rate (LINE uses 0.025)")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**63:
            raise bad("seed", "a non-negative integer below 2**63")
        if not _is_int(self.threads) or self.threads < 0:
            raise bad("threads", "a non-negative integer (0 = all cores)")

    @property
    def orders(self) -> tuple[int, ...]:
        return (1, 2) if self.order == "both" else (int(self.order),)

    def resolved_threads(self) -> int:
        return int(self.threads) if self.threads else cpu_count()


@dataclass
class LineResult:
    """Trained vectors and how the run went.

    ``vectors`` is float32 (num_nodes x D): D = dim for order 1 or 2; for "both",
    D = 2 * dim: [order1 | order2], each row-normalised, concatenated, normalised again.
    Order 1 and order 2 alone are returned as trained (not normalised), like the reference.
    ``loss_history`` holds one mean loss per chunk (order 1's chunks first for "both").
    ``samples_per_s`` counts every order's samples over training time only (no compilation).
    """

    vectors: np.ndarray
    loss_history: list[float]
    samples_per_s: float
    samples: int = 0  # per order
    train_seconds: float = 0.0
    compile_seconds: float = 0.0
    # CPU seconds of this process while the kernels ran: on a busy machine, wall time
    # hides how much of it the threads actually got (ideal: cpu_seconds = threads * train_seconds).
    cpu_seconds: float = 0.0
    threads: int = 1
    loss_by_order: dict[int, list[float]] = field(default_factory=dict)


def default_samples(num_directed_edges: int) -> int:
    """The run length used when ``LineConfig.samples`` is None."""
    return max(MIN_DEFAULT_SAMPLES, SAMPLES_PER_EDGE * int(num_directed_edges))


_compiled = False


def compile_kernels() -> float:
    """Compile (or load from numba's cache) the training kernel; returns the seconds it took, 0 if done before."""
    global _compiled
    if _compiled:
        return 0.0
    from graphrec.embed import _kernels as k

    start = time.perf_counter()
    emb = np.zeros((2, 4), np.float32)
    ctx = np.zeros((2, 4), np.float32)
    ids = np.array([0, 1], np.int32)
    prob = np.ones(2, np.float64)
    alias = np.array([0, 1], np.int32)
    states = k.seed_states(0, 0, 1)
    out = np.zeros((1, 2), np.float64)
    # Same argument types as real training, so this compiles exactly the specialisation used.
    k.train_thread(emb, ctx, ids, ids[::-1].copy(), prob, alias, prob, alias, 1, 4, 0, 1, 4, 0.025, states, 0, True, LOSS_EVERY, out)
    k.train_thread(emb, emb, ids, ids[::-1].copy(), prob, alias, prob, alias, 1, 4, 0, 1, 4, 0.025, states, 0, False, LOSS_EVERY, out)
    _compiled = True
    elapsed = time.perf_counter() - start
    logger.debug("LINE kernel ready in %.2f s (compiled or loaded from cache)", elapsed)
    return elapsed


def _validate_edges(src: object, dst: object, weight: object, num_nodes: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if not isinstance(num_nodes, int | np.integer) or isinstance(num_nodes, bool) or int(num_nodes) < 1:
        raise InputError(f"train_line: num_nodes must be a positive integer, got {num_nodes!r}.")
    n = int(num_nodes)
    if n >= 2**31:
        raise InputError(f"train_line: num_nodes must be below 2**31, got {n}; split the graph.")
    arrays = {}
    for name, value in (("src", src), ("dst", dst), ("weight", weight)):
        a = np.asarray(value)
        if a.ndim != 1:
            raise InputError(f"train_line: {name} must be a 1-D array, got shape {a.shape}.")
        arrays[name] = a
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"train_line: src, dst and weight must have one entry per directed edge, got lengths {lengths}.")
    if lengths["src"] == 0:
        raise InputError("train_line: the graph has no edges; LINE needs at least one weighted edge to learn from.")
    for name in ("src", "dst"):
        a = arrays[name]
        if not np.issubdtype(a.dtype, np.integer):
            raise InputError(f"train_line: {name} must hold integer node ids, got dtype {a.dtype}.")
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise InputError(
                f"train_line: {name} has node id {bad}, outside [0, num_nodes={n}); pass the right num_nodes or fix the edge list."
            )
    w = arrays["weight"]
    if not (np.issubdtype(w.dtype, np.floating) or np.issubdtype(w.dtype, np.integer)) or w.dtype == bool:
        raise InputError(f"train_line: weight must be numeric, got dtype {w.dtype}.")
    w = w.astype(np.float64)
    finite = np.isfinite(w)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise InputError(f"train_line: weight must be finite, got {w[i]!r} at edge {i}; drop or fix that edge.")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise InputError(f"train_line: weight must be >= 0, got {w[i]!r} at edge {i}; LINE edge weights are strengths.")
    if not w.sum() > 0:
        raise InputError("train_line: every edge weight is 0, so no edge can be sampled; give the edges positive weights.")
    # Own, writeable, contiguous copies: numba specialises on exactly these types.
    s = np.array(arrays["src"], dtype=np.int32, order="C", copy=True)
    d = np.array(arrays["dst"], dtype=np.int32, order="C", copy=True)
    return s, d, w, n


class _Tables:
    """The sampling tables shared by all orders of one run."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, num_nodes: int) -> None:
        self.src = src
        self.dst = dst
        edges = AliasTable(weight, name="edge weights")
        self.edge_prob, self.edge_alias = edges.prob, edges.alias
        noise = negative_sampler(weighted_degrees(src, weight, num_nodes))
        self.noise_prob, self.noise_alias = noise.prob, noise.alias
        isolated = int(np.count_nonzero(np.bincount(src, minlength=num_nodes) == 0))
        if isolated:
            logger.warning("LINE: %d of %d nodes have no outgoing edge; they keep their random initial vectors", isolated, num_nodes)


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _run_order(
    order: int,
    tables: _Tables,
    num_nodes: int,
    config: LineConfig,
    samples: int,
    threads: int,
    pool: ThreadPoolExecutor | None,
    *,
    update: bool = True,
    on_chunk: Callable[[float], None] | None = None,
) -> tuple[np.ndarray, list[float], float, float]:
    """Train one order; returns (vertex vectors, per-chunk mean loss, wall and CPU seconds spent in the kernels)."""
    from graphrec.embed import _kernels as k

    dim = config.dim
    init_rng = np.random.default_rng([config.seed, order])
    # In place, so the only large allocations are the matrices themselves.
    emb = init_rng.random((num_nodes, dim), dtype=np.float32)
    emb -= np.float32(0.5)
    emb /= np.float32(dim)
    ctx = np.zeros((num_nodes, dim), np.float32) if order == 2 else emb
    states = k.seed_states(config.seed, order, threads)
    out = np.zeros((threads, 2), np.float64)
    n_chunks = min(DEFAULT_CHUNKS, samples)
    losses: list[float] = []
    seconds = 0.0
    cpu = 0.0
    done = 0
    t = tables
    for chunk in _split(samples, n_chunks):
        shares = _split(chunk, threads)

        def work(tid: int, n: int = 0, first: int = 0) -> None:
            k.train_thread(
                emb, ctx, t.src, t.dst, t.edge_prob, t.edge_alias, t.noise_prob, t.noise_alias,
                config.negative, n, first, threads, samples, float(config.rho), states, tid, update, LOSS_EVERY, out,
            )  # fmt: skip

        start, cpu_start = time.perf_counter(), time.process_time()
        if pool is None:
            work(0, shares[0], done)
        else:
            futures = [pool.submit(work, tid, shares[tid], done + tid) for tid in range(threads)]
            for f in futures:
                f.result()
        seconds += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        done += chunk
        mean = float(out[:, 0].sum() / max(out[:, 1].sum(), 1.0)) if update else float("nan")
        losses.append(mean)
        if on_chunk is not None:
            on_chunk(mean)
    return emb, losses, seconds, cpu


def _normalise_rows_(x: np.ndarray) -> None:
    """Scale each row to unit length in place (an all-zero row stays zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x /= np.maximum(norms, np.float32(1e-12))


def train_line(
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    num_nodes: int,
    config: LineConfig | None = None,
    *,
    show_progress: bool | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> LineResult:
    """Embed a weighted graph given as *directed* edges (list each undirected edge both ways).

    ``callback(step, loss)`` is called after each chunk with a running chunk
    index (over all orders) and that chunk's mean loss per edge sample
    (edge term + negative terms, measured on every 8th sample).
    """
    config = LineConfig() if config is None else config
    if not isinstance(config, LineConfig):
        raise InputError(f"train_line: config must be a LineConfig, got {type(config).__name__}.")
    if callback is not None and not callable(callback):
        raise InputError(f"train_line: callback must be callable as callback(step, loss), got {callback!r}.")
    s, d, w, n = _validate_edges(src, dst, weight, num_nodes)
    samples = config.samples if config.samples is not None else default_samples(s.shape[0])
    threads = config.resolved_threads()
    compile_seconds = compile_kernels()
    tables = _Tables(s, d, w, n)
    logger.info(
        "LINE order %s: %d nodes, %d directed edges, dim %d, %d samples per order, %d thread(s)",
        config.order, n, s.shape[0], config.dim, samples, threads,
    )  # fmt: skip

    n_chunks = min(DEFAULT_CHUNKS, samples)
    bar = progress(total=n_chunks * len(config.orders), show_progress=show_progress, desc="LINE", unit="chunk")
    step = 0
    history: list[float] = []
    by_order: dict[int, list[float]] = {}
    vectors: list[np.ndarray] = []
    seconds = cpu_seconds = 0.0
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="line") if threads > 1 else None
    try:
        for order in config.orders:
            bar.set_description(f"LINE order {order}")

            def on_chunk(loss: float) -> None:
                nonlocal step
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4f}")
                if callback is not None:
                    callback(step, loss)
                step += 1

            emb, losses, secs, cpu = _run_order(order, tables, n, config, samples, threads, pool, on_chunk=on_chunk)
            seconds += secs
            cpu_seconds += cpu
            history.extend(losses)
            by_order[order] = losses
            vectors.append(emb)
            logger.info(
                "LINE order %d: loss %.4f -> %.4f, %.0f samples/s", order, losses[0], losses[-1], samples / max(secs, 1e-9)
            )
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    if len(vectors) == 1:
        out = vectors[0]
    else:
        # In place, half by half: peak memory stays at the two trained matrices plus the output.
        del emb
        out = np.empty((n, config.dim * len(vectors)), np.float32)
        for i in range(len(vectors)):
            part = vectors.pop(0)
            _normalise_rows_(part)
            out[:, i * config.dim : (i + 1) * config.dim] = part
            del part
        _normalise_rows_(out)
    total = samples * len(config.orders)
    return LineResult(
        vectors=out,
        loss_history=history,
        samples_per_s=total / max(seconds, 1e-9),
        samples=samples,
        train_seconds=seconds,
        compile_seconds=compile_seconds,
        cpu_seconds=cpu_seconds,
        threads=threads,
        loss_by_order=by_order,
    )


def time_sampling(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, num_nodes: int, config: LineConfig, order: int = 1
) -> float:
    """Seconds the kernel spends drawing ``config.samples`` edges and their negatives with no gradient step.

    Same kernel, tables, threads and chunking as :func:`train_line`; the
    difference to a full run's time is the gradient/update share.
    """
    s, d, w, n = _validate_edges(src, dst, weight, num_nodes)
    samples = config.samples if config.samples is not None else default_samples(s.shape[0])
    threads = config.resolved_threads()
    compile_kernels()
    tables = _Tables(s, d, w, n)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
    try:
        _, _, seconds, _ = _run_order(order, tables, n, config, samples, threads, pool, update=False)
    finally:
        if pool is not None:
            pool.shutdown()
    return seconds
