"""Feature extraction for a whole list of images, resumable: the feature pipeline plus a durable store.

:func:`extract_features` runs :func:`graphrec.vision.pipeline.iter_features` over the inputs the
store does not already hold, saves each finished chunk durably, and returns every feature in input
order with the failures beside them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from graphrec._log import get_logger, progress
from graphrec.vision.base import FeatureBatch, Featurizer
from graphrec.vision.engines import FeatureEngine, feature_batches
from graphrec.vision.pipeline import source_name
from graphrec.vision.store import FeatureStore, featurizer_fingerprint, file_signature, path_key

log = get_logger(__name__)


def extract_features(
    featurizer: Featurizer | str,
    paths: Sequence[Any],
    *,
    batch_size: int = 16,
    workers: int | None = None,
    store_dir: str | os.PathLike[str] | None = None,
    dtype: Literal["float32", "float16"] = "float32",
    show_progress: bool | None = None,
    device: str = "auto",
    chunk_size: int = 256,
    engine: FeatureEngine | None = None,
) -> FeatureBatch:
    """Features of every input that can be decoded, in input order; the others are reported and skipped.

    ``paths`` are image paths (or any input ``load_image`` takes; only paths are stored). ``batch_size``,
    ``workers`` and ``device`` are the pipeline's (:func:`~graphrec.vision.pipeline.iter_features`). With ``store_dir``,
    features are saved in durable chunks of ``chunk_size`` images and a later call reuses every stored
    row whose file is unchanged, computing only what is missing (one writer per store at a time).
    ``dtype`` is that of the stored and returned features. ``device="auto"`` uses CUDA when present.
    ``engine`` runs the featurizer here (default) or on a Ray cluster (:mod:`graphrec.vision.engines`).
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
    if workers is not None and int(workers) < 0:
        raise ValueError(f"workers must be >= 0, got {workers}.")
    sources = list(paths)
    n = len(sources)
    out_dtype = np.dtype(dtype)
    dim = int(featurizer.dim)

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

    start = time.perf_counter()
    computed = 0
    bar = progress(total=len(todo), show_progress=show_progress, unit="img", desc=f"features {featurizer.name}")
    batches = feature_batches(featurizer, [sources[i] for i in todo], engine=engine, batch_size=batch_size, workers=workers, device=device)
    try:
        for batch in batches:
            for j, reason in zip(batch.failed, (r for _, r in batch.failures)):
                failures[todo[j]] = reason
            for j, row in zip(batch.ok, batch.features):
                i = todo[j]
                row = row.astype(out_dtype, copy=False)
                rows[i] = row
                key, signature = keys[i], signatures[i]
                if store is not None and key is not None and signature is not None:
                    pending_keys.append(key)
                    pending_sigs.append(signature)
                    pending_rows.append(row)
            computed += len(batch.ok)
            flush()
            bar.update(len(batch.ok) + len(batch.failed))
        flush(final=True)
    finally:
        batches.close()  # a generator: stops the pipeline's decoders
        bar.close()
    elapsed = time.perf_counter() - start
    if todo:
        log.info("features %s: %d images in %.1f s (%.1f images/s), %d failed",
                 featurizer.name, computed, elapsed, computed / max(elapsed, 1e-9), len(failures))

    for first, others in followers.items():
        for i in others:
            if first in failures:
                failures[i] = failures[first]
            else:
                rows[i] = rows[first]
    ok = [i for i in range(n) if rows[i] is not None]
    kept_rows = [row for row in rows if row is not None]
    features = np.stack(kept_rows).astype(out_dtype, copy=False) if kept_rows else np.zeros((0, dim), dtype=out_dtype)
    failed = sorted(failures)
    return FeatureBatch(features=features, ok=ok, failures=[(source_name(sources[i]), failures[i]) for i in failed], failed=failed)
