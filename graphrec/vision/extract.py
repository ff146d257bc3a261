"""Batch feature extraction: decode in workers while the featurizer computes, skip bad files, resume.

Torch featurizers get a ``torch.utils.data.DataLoader`` whose worker processes decode and preprocess
(each worker uses one torch thread, as DataLoader sets, so the forward pass keeps every core);
numpy featurizers get a thread pool (PIL decoding and resizing release the GIL). The forward pass
runs under ``torch.inference_mode`` on CUDA when one is visible (``device="auto"``).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import numpy as np

from graphrec._env import decode_workers
from graphrec._log import get_logger, progress
from graphrec.errors import GraphrecError
from graphrec.vision.base import BaseFeaturizer, FeatureBatch, resolve_device
from graphrec.vision.io import describe_source
from graphrec.vision.store import (
    FeatureStore,
    featurizer_fingerprint,
    file_signature,
    path_key,
)

log = get_logger(__name__)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, GraphrecError | OSError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


Loaded = tuple[int, Any, str | None]  # (input index, prepared item or None, failure reason or None)


class _Decode:
    """Decode + prepare one input; failures become a reason string, so one bad file never stops a batch."""

    def __init__(self, featurizer: BaseFeaturizer, sources: Sequence[Any], indices: Sequence[int]) -> None:
        self.featurizer = featurizer
        self.sources = sources
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j: int) -> Loaded:
        i = self.indices[j]
        try:
            return i, self.featurizer.load(self.sources[i]), None
        except Exception as exc:
            return i, None, _reason(exc)


def _keep_list(batch: list[Loaded]) -> list[Loaded]:
    return batch  # DataLoader collate: keep the tuples; stacking happens in compute()


def _torch_batches(decode: _Decode, batch_size: int, workers: int, pin: bool) -> Iterator[list[Loaded]]:
    from torch.utils.data import DataLoader

    loader = DataLoader(
        decode,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_keep_list,
        pin_memory=pin,
        prefetch_factor=2 if workers > 0 else None,
    )
    yield from loader


def _thread_batches(decode: _Decode, batch_size: int, workers: int) -> Iterator[list[Loaded]]:
    if workers == 0:
        for start in range(0, len(decode), batch_size):
            yield [decode[j] for j in range(start, min(len(decode), start + batch_size))]
        return
    lookahead = 2 * batch_size + workers  # enough decoded images queued to cover one compute step
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="graphrec-decode") as pool:
        pending: deque[Future[Loaded]] = deque()
        submitted = 0
        while submitted < min(lookahead, len(decode)):
            pending.append(pool.submit(decode.__getitem__, submitted))
            submitted += 1
        batch: list[Loaded] = []
        while pending:
            batch.append(pending.popleft().result())
            if submitted < len(decode):
                pending.append(pool.submit(decode.__getitem__, submitted))
                submitted += 1
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def extract_features(
    featurizer: BaseFeaturizer | str,
    paths: Sequence[Any],
    *,
    batch_size: int = 16,
    workers: int | None = None,
    store_dir: str | os.PathLike[str] | None = None,
    dtype: Literal["float32", "float16"] = "float32",
    show_progress: bool | None = None,
    device: str = "auto",
    chunk_size: int = 256,
) -> FeatureBatch:
    """Features of every input that can be decoded, in input order; the others are reported and skipped.

    ``paths`` are image paths (or any input ``load_image`` takes; only paths are stored). ``workers``
    decode in parallel (default :func:`graphrec._env.decode_workers`; 0 decodes in this thread). With ``store_dir``,
    features are saved in durable chunks of ``chunk_size`` images and a later call reuses every stored
    row whose file is unchanged, computing only what is missing (one writer per store at a time).
    ``dtype`` is that of the stored and returned features. ``device="auto"`` uses CUDA when present.
    """
    if isinstance(featurizer, str):
        from graphrec.vision.registry import get_featurizer

        featurizer = get_featurizer(featurizer)
    if batch_size < 1 or chunk_size < 1:
        raise ValueError(f"batch_size and chunk_size must be >= 1, got batch_size={batch_size}, chunk_size={chunk_size}.")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16', got {dtype!r}.")
    if isinstance(paths, (str, os.PathLike, bytes)):
        raise TypeError("extract_features() takes a sequence of paths; wrap a single one in a list.")
    workers = decode_workers(None if workers is None else int(workers))
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}.")
    sources = list(paths)
    n = len(sources)
    out_dtype = np.dtype(dtype)
    dim = int(featurizer.dim)

    dev = resolve_device(device) if featurizer.uses_torch else "cpu"
    featurizer.to(dev)

    store = None
    if store_dir is not None:
        store = FeatureStore(store_dir, name=featurizer.name, dim=dim, dtype=dtype,
                             fingerprint=featurizer_fingerprint(featurizer.describe()))

    rows: list[np.ndarray | None] = [None] * n
    keys = [path_key(s) for s in sources]
    signatures = [file_signature(k) if (store is not None and k is not None) else None for k in keys]
    first_of_key: dict[str, int] = {}
    followers: dict[int, list[int]] = {}  # duplicate paths are computed once
    todo: list[int] = []
    for i, key in enumerate(keys):
        if store is not None and key is not None:
            stored = store.get(key, signatures[i])
            if stored is not None:
                rows[i] = stored
                continue
        if key is not None and key in first_of_key:
            followers.setdefault(first_of_key[key], []).append(i)
            continue
        if key is not None:
            first_of_key[key] = i
        todo.append(i)
    reused = n - len(todo) - sum(len(v) for v in followers.values())
    if store is not None:
        log.info("feature store %s: %d of %d images already done, %d to compute", store.root, reused, n, len(todo))

    failures: dict[int, str] = {}
    pending_keys: list[str] = []
    pending_sigs: list[str] = []
    pending_rows: list[np.ndarray] = []

    def flush(final: bool = False) -> None:
        # Chunks of exactly chunk_size rows (the last one may be shorter), whatever the batch size.
        while store is not None and pending_rows and (final or len(pending_rows) >= chunk_size):
            take = min(chunk_size, len(pending_rows))
            store.add_chunk(pending_keys[:take], pending_sigs[:take], np.stack(pending_rows[:take]))
            del pending_keys[:take], pending_sigs[:take], pending_rows[:take]

    decode = _Decode(featurizer, sources, todo)
    if featurizer.uses_torch:
        batches = _torch_batches(decode, batch_size, workers, pin=dev.startswith("cuda"))
    else:
        batches = _thread_batches(decode, batch_size, workers)

    start = time.perf_counter()
    computed = 0
    bar = progress(total=len(todo), show_progress=show_progress, unit="img", desc=f"features {featurizer.name}")
    try:
        for batch in batches:
            good = [(i, item) for i, item, reason in batch if reason is None]
            for i, _, reason in batch:
                if reason is not None:
                    failures[i] = reason
                    log.warning("skipping image %s: %s", describe_source(sources[i]), reason)
            if good:
                feats = _compute_isolating_failures(featurizer, good, failures, sources)
                for i, row in feats:
                    row = row.astype(out_dtype, copy=False)
                    rows[i] = row
                    if store is not None and keys[i] is not None and signatures[i] is not None:
                        pending_keys.append(keys[i])
                        pending_sigs.append(signatures[i])
                        pending_rows.append(row)
                computed += len(feats)
                flush()
            bar.update(len(batch))
        flush(final=True)
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    if todo:
        log.info("features %s: %d images in %.1f s (%.1f images/s), %d failed, device %s",
                 featurizer.name, computed, elapsed, computed / max(elapsed, 1e-9), len(failures), dev)

    for first, others in followers.items():
        for i in others:
            if first in failures:
                failures[i] = failures[first]
            else:
                rows[i] = rows[first]
    ok = [i for i in range(n) if rows[i] is not None]
    features = np.stack([rows[i] for i in ok]).astype(out_dtype, copy=False) if ok else np.zeros((0, dim), dtype=out_dtype)
    failed = [(_failure_name(sources[i]), failures[i]) for i in sorted(failures)]
    return FeatureBatch(features=features, ok=ok, failures=failed)


def _failure_name(src: Any) -> str:
    return os.fspath(src) if isinstance(src, (str, os.PathLike)) else describe_source(src)


def _compute_isolating_failures(
    featurizer: BaseFeaturizer, good: list[tuple[int, Any]], failures: dict[int, str], sources: Sequence[Any]
) -> list[tuple[int, np.ndarray]]:
    """One batched compute; if it raises, retry image by image so only the culprit is dropped."""
    try:
        feats = np.asarray(featurizer.compute([item for _, item in good]), dtype=np.float32)
        return [(i, feats[k]) for k, (i, _) in enumerate(good)]
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if len(good) == 1:
            failures[good[0][0]] = _reason(exc)
            log.warning("skipping image %s: %s", describe_source(sources[good[0][0]]), _reason(exc))
            return []
        out = []
        for pair in good:
            out.extend(_compute_isolating_failures(featurizer, [pair], failures, sources))
        return out
