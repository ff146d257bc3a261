"""Where featurising runs: in this process (the feature pipeline) or on a Ray cluster, one contract for both.

``feature_batches(featurizer, sources, engine=...)`` yields :class:`~graphrec.vision.base.FeatureBatch`
objects of consecutive inputs in input order, whatever the engine, so ``graphrec score`` writes
them through the same resumable sink and ``graphrec build`` stores them the same way.

* ``FeatureEngine("local")``: :func:`graphrec.vision.pipeline.iter_features` (decode workers beside
  the featurizer, in this process).
* ``FeatureEngine("ray", address=...)``: batches of paths go to featurizer actors on a Ray cluster
  (``ray.init(address=...)``, or a local cluster started here and stopped afterwards when no address
  is given and none is running). Each actor builds the featurizer from its spec (``featurizer.name``)
  and runs the same pipeline on its batch, so decoding, failures and their reasons are the local
  engine's. The actors read the image files themselves: on a cluster of several machines the
  paths must be on storage every node mounts at the same place. At most ``2 x actors`` batches are
  in flight, and results come back in input order, so the driver never holds more than that.

Ray is optional (``pip install 'graphrec[ray]'``); without it ``engine="ray"`` is a clear error.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError, InputError
from graphrec.vision.base import FeatureBatch, Featurizer
from graphrec.vision.io import DEFAULT_MAX_PIXELS
from graphrec.vision.pipeline import iter_features, source_name

log = get_logger(__name__)

EngineKind = Literal["local", "ray"]
RAY_INSTALL = "pip install 'graphrec[ray]'"

__all__ = ["EngineKind", "FeatureEngine", "RAY_INSTALL", "feature_batches", "require_ray"]


@dataclass(frozen=True)
class FeatureEngine:
    """Where features are computed: ``kind`` "local" or "ray"; for Ray the cluster ``address`` (None: a local
    cluster, or the one this process is already connected to) and the number of featurizer ``actors``
    (None: one per CPU of the cluster)."""

    kind: EngineKind = "local"
    address: str | None = None
    actors: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise InputError(f"engine must be 'local' or 'ray', got {self.kind!r}.")
        if self.actors is not None and (isinstance(self.actors, bool) or not isinstance(self.actors, int) or self.actors < 1):
            raise InputError(f"the number of Ray actors must be a positive integer, got {self.actors!r}.")
        if self.kind == "local" and (self.address is not None or self.actors is not None):
            raise InputError("a Ray address or actor count needs engine 'ray'; pass --engine ray or leave them out.")


def feature_batches(
    featurizer: Featurizer,
    sources: Sequence[Any],
    *,
    engine: FeatureEngine | None = None,
    batch_size: int = 16,
    workers: int | None = None,
    device: str = "auto",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Generator[FeatureBatch, None, None]:
    """Features of ``sources`` batch by batch, in input order, on ``engine`` (default: local)."""
    engine = engine or FeatureEngine()
    if engine.kind == "local":
        yield from iter_features(featurizer, sources, batch_size=batch_size, workers=workers, device=device, max_pixels=max_pixels)
    else:
        yield from _ray_batches(featurizer, sources, engine, batch_size=batch_size, max_pixels=max_pixels)


def require_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError(
            f"--engine ray needs the package ray, which is not installed here; install it with `{RAY_INSTALL}` "
            "(or use the default local engine)."
        ) from exc
    return ray


class _FeaturizerActor:
    """Runs on a Ray worker: the featurizer built from its spec, and the local pipeline over one batch at a time."""

    def __init__(self, spec: str) -> None:
        from graphrec.vision.registry import get_featurizer

        self.featurizer = get_featurizer(spec)

    def run(self, paths: list[str], max_pixels: int) -> tuple[list[int], np.ndarray, list[int], list[str]]:
        batch = next(iter(iter_features(self.featurizer, paths, batch_size=max(1, len(paths)), workers=0, max_pixels=max_pixels)))
        return batch.ok, batch.features, batch.failed, [reason for _, reason in batch.failures]


def _ray_batches(
    featurizer: Featurizer, sources: Sequence[Any], engine: FeatureEngine, *, batch_size: int, max_pixels: int
) -> Generator[FeatureBatch, None, None]:
    ray = require_ray()
    paths = [os.fspath(s) if isinstance(s, (str, os.PathLike)) else None for s in sources]
    if any(p is None for p in paths):
        raise InputError("the Ray engine takes image paths (the actors read the files); decode in-memory images with the local engine.")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=engine.address, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
        log.info("connected to Ray cluster %s", engine.address or "(a local one, started here)")
    try:
        count = engine.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor_class = ray.remote(num_cpus=1)(_FeaturizerActor)
        actors = [actor_class.remote(featurizer.name) for _ in range(count)]
        starts = list(range(0, len(paths), batch_size))
        pending: deque[tuple[int, Any]] = deque()
        next_start = 0
        while next_start < len(starts) or pending:
            while next_start < len(starts) and len(pending) < 2 * count:
                start = starts[next_start]
                actor = actors[next_start % count]
                pending.append((start, actor.run.remote(paths[start:start + batch_size], max_pixels)))
                next_start += 1
            start, ref = pending.popleft()
            ok, features, failed, reasons = ray.get(ref)
            for j, reason in zip(failed, reasons):
                log.warning("skipping image %s: %s", paths[start + j], reason)
            yield FeatureBatch(
                features=np.asarray(features, dtype=np.float32).reshape(len(ok), featurizer.dim),
                ok=[start + j for j in ok],
                failures=[(source_name(sources[start + j]), reason) for j, reason in zip(failed, reasons)],
                failed=[start + j for j in failed],
            )
    finally:
        for _, ref in pending:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()
