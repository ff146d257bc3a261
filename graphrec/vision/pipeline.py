"""The one image -> feature pipeline: decode in workers while the featurizer computes, batch by batch.

``iter_features(featurizer, sources)`` yields one :class:`FeatureBatch` per ``batch_size`` consecutive
inputs, in input order, so a caller can act on each batch as it comes (``graphrec score`` writes and
fsyncs it; :func:`graphrec.vision.extract_features` stores and gathers them). Every input is either in
a batch's ``ok`` or in its ``failed``: a file that cannot be decoded, and an image whose compute
fails (a failing batch is retried image by image), is reported with its reason and never stops
the run.

Torch featurizers get a ``torch.utils.data.DataLoader`` whose worker processes decode and preprocess
(each worker uses one torch thread, as DataLoader sets, so the forward pass keeps every core);
numpy featurizers and the ONNX Runtime backend (``decode_in_processes`` False) get a thread pool (PIL
decoding and resizing release the GIL). The forward pass
runs under ``torch.inference_mode`` on CUDA when one is visible (``device="auto"``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from graphrec._env import decode_workers
from graphrec._log import get_logger
from graphrec.errors import GraphrecError
from graphrec.vision.base import FeatureBatch, Featurizer, resolve_device
from graphrec.vision.io import DEFAULT_MAX_PIXELS, describe_source

log = get_logger(__name__)

__all__ = ["failure_reason", "iter_features", "source_name"]

Loaded = tuple[int, Any, str | None]  # (input index, prepared item or None, failure reason or None)


def failure_reason(exc: BaseException) -> str:
    """How a failed input's reason reads: graphrec's and the OS's messages as they are, others with their type."""
    if isinstance(exc, GraphrecError | OSError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def source_name(src: Any) -> str:
    """The name a failure is reported under: the path as given, or a description of an in-memory image."""
    return os.fspath(src) if isinstance(src, (str, os.PathLike)) else describe_source(src)


class _Decode:
    """Decode + prepare one input; failures become a reason string, so one bad file never stops a batch."""

    def __init__(self, featurizer: Featurizer, sources: Sequence[Any], max_pixels: int) -> None:
        self.featurizer = featurizer
        self.sources = sources
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> Loaded:
        try:
            return i, self.featurizer.load(self.sources[i], max_pixels=self.max_pixels), None
        except Exception as exc:  # noqa: BLE001 - any decode failure is this input's problem only
            return i, None, failure_reason(exc)


def _keep_list(batch: list[Loaded]) -> list[Loaded]:
    return batch  # DataLoader collate: keep the tuples; stacking happens in compute()


def _torch_batches(decode: _Decode, batch_size: int, workers: int, pin: bool) -> Iterator[list[Loaded]]:
    from torch.utils.data import DataLoader

    loader: DataLoader[Loaded] = DataLoader(
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
        try:
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
        finally:
            for future in pending:  # the consumer stopped early: do not decode what nobody will read
                future.cancel()


def _compute(featurizer: Featurizer, good: list[tuple[int, Any]], failures: dict[int, str], sources: Sequence[Any]) -> list[tuple[int, np.ndarray]]:
    """One batched compute; if it raises, retry image by image so only the culprit is dropped."""
    try:
        feats = np.asarray(featurizer.compute([item for _, item in good]), dtype=np.float32)
        return [(i, feats[k]) for k, (i, _) in enumerate(good)]
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - isolated below
        if len(good) == 1:
            failures[good[0][0]] = failure_reason(exc)
            log.warning("skipping image %s: %s", describe_source(sources[good[0][0]]), failure_reason(exc))
            return []
        out: list[tuple[int, np.ndarray]] = []
        for pair in good:
            out.extend(_compute(featurizer, [pair], failures, sources))
        return out


def iter_features(
    featurizer: Featurizer,
    sources: Sequence[Any],
    *,
    batch_size: int = 16,
    workers: int | None = None,
    device: str = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Generator[FeatureBatch, None, None]:
    """Features of ``sources`` (paths, bytes, PIL images or arrays), one batch of consecutive inputs at a time.

    Each batch's ``ok`` and ``failed`` index into ``sources``; ``features`` has one float32 row per
    ``ok`` index. ``workers`` decode in parallel (default :func:`graphrec._env.decode_workers`; 0 decodes
    in this thread). ``max_pixels`` refuses larger images before decoding their pixels. Closing the
    iterator early stops the decoders.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if isinstance(sources, (str, os.PathLike, bytes)):
        raise TypeError("iter_features() takes a sequence of images; wrap a single one in a list.")
    workers = decode_workers(workers)
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}.")
    dev = resolve_device(device) if featurizer.uses_torch else "cpu"
    featurizer.to(dev)
    decode = _Decode(featurizer, sources, max_pixels)
    if getattr(featurizer, "decode_in_processes", featurizer.uses_torch):
        batches = _torch_batches(decode, batch_size, workers, pin=dev.startswith("cuda"))
    else:
        batches = _thread_batches(decode, batch_size, workers)
    try:
        for batch in batches:
            failures: dict[int, str] = {}
            good = []
            for i, item, reason in batch:
                if reason is None:
                    good.append((i, item))
                else:
                    failures[i] = reason
                    log.warning("skipping image %s: %s", describe_source(sources[i]), reason)
            computed = _compute(featurizer, good, failures, sources) if good else []
            failed = sorted(failures)
            yield FeatureBatch(
                features=np.stack([row for _, row in computed]) if computed else np.zeros((0, featurizer.dim), np.float32),
                ok=[i for i, _ in computed],
                failures=[(source_name(sources[i]), failures[i]) for i in failed],
                failed=failed,
            )
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
