"""Cover descriptors: graphrec's featurizers, computed once per file content and cached by its SHA-256.

The write-ups' descriptors are featurizers graphrec already has:

* ``pixels16``: 16x16 grey pixels minus their mean, divided by their L2 norm (Bernhardsson's "mean-subtracted
  and variance-normalised" up to the constant factor 16 = sqrt(256): every distance ranking is the same);
* ``gist``: 960-d colour GIST; ``efficientnet_lite0``, ``vgg19_fc7``: CNN features;
* ``hsv_hist``: the 8x8x8 HSV histogram (O'Reilly).

The cache lives in ``$GRAPHREC_CACHE/covers/features/<featurizer>-<fingerprint>/`` (default
``~/.cache/graphrec``, see graphrec._env): graphrec.vision's chunked, crash-safe :class:`~graphrec.vision.store.FeatureStore`,
keyed by the SHA-256 of each file's bytes instead of its path, so a cover copied, renamed or filed under
two genres is computed once, and an edited one again. The fingerprint of the featurizer's description
(weights, preprocessing) is part of the folder name, so a changed featurizer never reads stale rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphrec import _env
from graphrec._io import sha256_file
from graphrec._log import get_logger, progress
from graphrec.covers.data import CoverSet
from graphrec.errors import InputError
from graphrec.vision.base import BaseFeaturizer, FeatureBatch
from graphrec.vision.extract import extract_features
from graphrec.vision.registry import get_featurizer
from graphrec.vision.store import FeatureStore, featurizer_fingerprint, store_dir_for

log = get_logger(__name__)

#: How the result tables name each descriptor.
DESCRIPTOR_LABELS: dict[str, str] = {
    "pixels16": "16x16 grey pixels (256-d)",
    "gist": "GIST (960-d)",
    "efficientnet_lite0": "CNN: EfficientNet-Lite0 (1280-d)",
    "vgg19_fc7": "CNN: VGG-19 fc7 (4096-d)",
    "hsv_hist": "HSV histogram 8x8x8 (512-d)",
    "random": "random vectors (baseline)",
}
_CONTENT = "sha256"  # every stored row's signature: a content key never goes stale


def default_cache_dir() -> Path:
    """``$GRAPHREC_CACHE/covers`` (graphrec._env's cache folder; default ``~/.cache/graphrec/covers``)."""
    return _env.cache_dir("covers")


def resolve_featurizer(featurizer: BaseFeaturizer | str) -> BaseFeaturizer:
    """A featurizer, built from its spec when given a name (an unknown name is an InputError)."""
    if not isinstance(featurizer, str):
        return featurizer
    try:
        return get_featurizer(featurizer)
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(str(exc)) from None


def store_dir(featurizer: BaseFeaturizer, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where ``featurizer``'s cached rows live."""
    return store_dir_for(featurizer.name, featurizer.describe(), cache_dir or default_cache_dir())


def cover_features(
    featurizer: BaseFeaturizer | str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    hashes: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    chunk_size: int = 512,
    device: str = "auto",
    show_progress: bool | None = None,
) -> FeatureBatch:
    """Features of the image files ``paths`` in input order, cached by content; bad files reported and skipped.

    ``hashes`` (the files' SHA-256, e.g. ``CoverSet.sha256``) saves hashing them again. Missing rows
    are computed ``chunk_size`` images at a time and stored after each chunk, so an interrupted run
    resumes where it stopped.
    """
    featurizer = resolve_featurizer(featurizer)
    files: list[str] = [os.fspath(p) for p in paths]
    if hashes is not None and len(hashes) != len(files):
        raise InputError(f"hashes must have one entry per path; got {len(hashes)} hashes for {len(files)} files.")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}.")
    fingerprint = featurizer_fingerprint(featurizer.describe())
    store = FeatureStore(store_dir(featurizer, cache_dir), name=featurizer.name, dim=featurizer.dim,
                         dtype="float32", fingerprint=fingerprint)
    failures: dict[int, str] = {}
    keys: list[str | None] = []
    for i, path in enumerate(files):
        if hashes is not None:
            keys.append(hashes[i])
            continue
        try:
            keys.append(sha256_file(path))
        except OSError as exc:
            keys.append(None)
            failures[i] = f"unreadable file ({exc})"
            log.warning("skipping image %s: unreadable file (%s)", path, exc)

    rows: list[np.ndarray | None] = [None] * len(files)
    todo: dict[str, int] = {}  # content -> the first input holding it
    for i, key in enumerate(keys):
        if key is None:
            continue
        stored = store.get(key, _CONTENT)
        if stored is not None:
            rows[i] = stored
        else:
            todo.setdefault(key, i)
    log.info("cover features %s: %d of %d inputs cached, %d contents to compute", featurizer.name,
             len(files) - len(failures) - sum(1 for k in keys if k in todo), len(files), len(todo))

    first = list(todo.values())
    bar = progress(total=len(first), show_progress=show_progress, unit="img", desc=f"features {featurizer.name}")
    try:
        for start in range(0, len(first), chunk_size):
            chunk = first[start:start + chunk_size]
            batch = extract_features(featurizer, [files[i] for i in chunk], batch_size=batch_size, workers=workers,
                                     device=device, show_progress=False)
            where = {files[i]: i for i in chunk}
            for name, reason in batch.failures:
                failures[where[name]] = reason
            done = [chunk[j] for j in batch.ok]
            for row, i in zip(batch.features, done):
                rows[i] = row
            if done:
                store.add_chunk([str(keys[i]) for i in done], [_CONTENT] * len(done), batch.features)
            bar.update(len(chunk))
    finally:
        bar.close()

    for i, key in enumerate(keys):  # later inputs with the same content as a computed or failed one
        if rows[i] is None and i not in failures and key in todo:
            owner = todo[key]
            if rows[owner] is not None:
                rows[i] = rows[owner]
            else:
                failures[i] = failures[owner]
    ok = [i for i, row in enumerate(rows) if row is not None]
    found = [row for row in rows if row is not None]
    features = np.stack(found).astype(np.float32, copy=False) if found else np.zeros((0, featurizer.dim), np.float32)
    return FeatureBatch(features=features, ok=ok, failures=[(files[i], failures[i]) for i in sorted(failures)])


def describe_covers(
    covers: CoverSet, featurizer: BaseFeaturizer | str, **kwargs: Any
) -> tuple[CoverSet, np.ndarray, list[tuple[str, str]]]:
    """``(the covers that decoded, their features, (path, reason) of those that did not)``.

    ``kwargs`` go to :func:`cover_features` (cache_dir, batch_size, workers, show_progress, ...).
    """
    batch = cover_features(featurizer, covers.paths, hashes=covers.sha256, **kwargs)
    return covers.subset(batch.ok), batch.features, batch.failures
