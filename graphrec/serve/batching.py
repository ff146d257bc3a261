"""Micro-batching for the service: requests that arrive together share one featurizer batch.

A request thread decodes and prepares its image (as ``featurizer.load`` does), then hands the
prepared item to :class:`MicroBatcher` and waits on a future. One worker thread takes the first
waiting item, gathers more for at most ``max_wait_s`` or until it holds ``max_batch`` and runs one
``featurizer.compute`` over all of them; a second thread runs one ``model.recommend_features`` per
distinct ``k`` and answers each future, while the first already computes the next batch. Under load the queue refills while a batch computes, so batches grow with the
load (and throughput with them) while the wait bound keeps a lone request's latency within a few
milliseconds of an unbatched one. The queue is bounded: past ``max_queue`` waiting images a request
is answered 503 at once rather than queued without end.

Errors stay per request: a batch whose compute fails is computed again image by image, so only the
image that fails gets the error.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphrec._log import get_logger

log = get_logger(__name__)

__all__ = ["BatcherBusy", "MicroBatcher"]


class BatcherBusy(Exception):
    """The batcher's queue is full: the caller answers 503."""


@dataclass
class _Job:
    item: Any
    k: int
    future: Future[Any] = field(default_factory=Future)


class MicroBatcher:
    """Featurise and recommend in batches of up to ``max_batch`` prepared images, waiting at most ``max_wait_s`` to fill one."""

    def __init__(self, model: Any, featurizer: Any, *, max_batch: int = 16, max_wait_s: float = 0.005, max_queue: int = 64,
                 start: bool = True) -> None:
        if max_batch < 1 or max_queue < 1 or not max_wait_s >= 0:
            raise ValueError(f"MicroBatcher needs max_batch >= 1, max_queue >= 1, max_wait_s >= 0; got {max_batch}, {max_queue}, {max_wait_s}.")
        self.model = model
        self.featurizer = featurizer
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self.batches = 0
        self.images = 0
        self.largest = 0
        self._thread = threading.Thread(target=self._run, name="graphrec-batcher", daemon=True)
        self._ranker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphrec-rank")
        if start:
            self.start()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the worker finish what is queued, then end it."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)
        self._ranker.shutdown(wait=True)

    def submit(self, item: Any, k: int) -> Future[Any]:
        """Queue one prepared image; the future gives its :class:`~graphrec.recommender.Recommendations`. BatcherBusy when full."""
        job = _Job(item, k)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise BatcherBusy(f"{self._queue.maxsize} images are already waiting") from None
        return job.future

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "max_batch": self.max_batch, "max_wait_ms": round(self.max_wait_s * 1000, 3), "waiting": self._queue.qsize(),
                "batches": self.batches, "images": self.images, "largest_batch": self.largest,
                "mean_batch": round(self.images / self.batches, 2) if self.batches else None,
            }

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs = [first]
        deadline = time.monotonic() + self.max_wait_s
        while len(jobs) < self.max_batch:
            try:  # what is already waiting is taken without waiting; then up to the deadline
                job = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    job = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _run(self) -> None:
        ranking: Future[None] | None = None
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._gather(first)
            with self._lock:
                self.batches += 1
                self.images += len(jobs)
                self.largest = max(self.largest, len(jobs))
            try:
                features = self._features(jobs)
            except BaseException as exc:  # noqa: BLE001 - never leave a request waiting for ever
                _fail(jobs, exc)
                features = {}
            if ranking is not None:
                ranking.result()  # one batch ranks while the next computes; no more
            ranking = self._ranker.submit(self._answer, jobs, features)
            if stop:
                ranking.result()
                return

    def _answer(self, jobs: list[_Job], features: dict[int, np.ndarray]) -> None:
        try:
            self._rank(jobs, features)
        except BaseException as exc:  # noqa: BLE001 - never leave a request waiting for ever
            _fail(jobs, exc)

    def _rank(self, jobs: list[_Job], features: dict[int, np.ndarray]) -> None:
        by_k: dict[int, list[int]] = {}
        for row, job in enumerate(jobs):
            if row in features:
                by_k.setdefault(job.k, []).append(row)
        for k, rows in by_k.items():
            try:
                results = self.model.recommend_features(np.stack([features[r] for r in rows]), k)
            except Exception as exc:  # noqa: BLE001 - answered to each request of the group
                for r in rows:
                    jobs[r].future.set_exception(exc)
                continue
            for r, recs in zip(rows, results):
                jobs[r].future.set_result(recs)

    def _features(self, jobs: list[_Job]) -> dict[int, np.ndarray]:
        """Row -> features; a failing batch is computed again one image at a time and each failure goes to its own future."""
        try:
            out = np.asarray(self.featurizer.compute([job.item for job in jobs]), dtype=np.float32)
            return dict(enumerate(out))
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - isolated below
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return {}
            log.warning("a batch of %d images failed (%s); computing them one at a time", len(jobs), exc)
        features: dict[int, np.ndarray] = {}
        for row, job in enumerate(jobs):
            try:
                features[row] = np.asarray(self.featurizer.compute([job.item]), dtype=np.float32)[0]
            except Exception as exc:  # noqa: BLE001 - this request's error only
                job.future.set_exception(exc)
        return features


def _fail(jobs: list[_Job], exc: BaseException) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(exc)
