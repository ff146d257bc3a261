"""A resumable on-disk feature store: chunked arrays plus the paths they belong to.

Layout of ``store_dir``::

    meta.json            format_version, featurizer name, dim, dtype, fingerprint of describe()
    chunk-000000.npz     features (m, dim), keys (m,) absolute paths, signatures (m,) "size:mtime_ns"
    chunk-000001.npz     ...

Each chunk is one file written to a temporary name, fsynced and renamed (graphrec._io.atomic_writer),
so a chunk is either complete or absent: a ``kill -9`` loses at most the chunk being written. A stored
row is reused only while the file's size and modification time still match its signature, so an
edited image is featurised again. No pickle: keys are stored as fixed-width unicode arrays.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from graphrec._io import atomic_write_json, atomic_writer
from graphrec._log import get_logger
from graphrec.errors import InputError, describe_path

log = get_logger(__name__)

FORMAT_VERSION = 1
_CHUNK = re.compile(r"^chunk-(\d{6,})\.npz$")


def path_key(src: object) -> str | None:
    """The store key of a path input (its absolute path); None for in-memory inputs."""
    if isinstance(src, (str, os.PathLike)):
        return os.path.abspath(os.fspath(src))
    return None


def file_signature(key: str) -> str | None:
    try:
        st = os.stat(key)
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def featurizer_fingerprint(description: dict) -> str:
    """A hash of describe() without local file locations and the runtime (ONNX Runtime or torch, whose features
    agree to a cosine of 0.999): same weights and preprocessing, same fingerprint."""

    def strip(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ("weights_file", "backend")}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    text = json.dumps(strip(description), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_dir_for(name: str, description: dict, cache_dir: str | os.PathLike[str]) -> Path:
    """The store of one featurizer under ``cache_dir/features``: its name and the first 12 hex digits of its
    fingerprint, so a featurizer whose weights or preprocessing changed starts a new store instead of
    meeting rows it did not compute."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return Path(cache_dir) / "features" / f"{safe}-{featurizer_fingerprint(description)[:12]}"


class FeatureStore:
    """Features already computed for some paths, and a way to append more, one durable chunk at a time."""

    def __init__(self, root: str | os.PathLike[str], *, name: str, dim: int, dtype: str, fingerprint: str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {"format_version": FORMAT_VERSION, "featurizer": name, "dim": int(dim), "dtype": dtype, "fingerprint": fingerprint}
        meta_path = self.root / "meta.json"
        if meta_path.exists():
            try:
                found = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"feature store {describe_path(meta_path)} is unreadable ({exc}); delete the folder {describe_path(self.root)} to start afresh.") from exc
            if found != meta:
                raise InputError(
                    f"feature store {describe_path(self.root)} holds features of {found.get('featurizer')!r} "
                    f"(dim {found.get('dim')}, {found.get('dtype')}, format {found.get('format_version')}, fingerprint "
                    f"{str(found.get('fingerprint'))[:12]}), not of {name!r} (dim {dim}, {dtype}, fingerprint {fingerprint[:12]}); "
                    "use another store_dir, or delete this one."
                )
        else:
            atomic_write_json(meta_path, meta)
        self.dim = int(dim)
        self.dtype = np.dtype(dtype)
        self._index: dict[str, tuple[int, int]] = {}  # key -> (chunk slot, row)
        self._signatures: list[np.ndarray] = []
        self._features: list[np.ndarray] = []
        self._next = 0
        self._load()

    def _load(self) -> None:
        for stale in self.root.glob(".chunk-*.tmp"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
        numbered = sorted((int(m.group(1)), p) for p in self.root.iterdir() if (m := _CHUNK.match(p.name)))
        for number, path in numbered:
            self._next = max(self._next, number + 1)
            try:
                with np.load(path, allow_pickle=False) as data:
                    features, keys, signatures = data["features"], data["keys"], data["signatures"]
            except Exception as exc:  # cannot happen with atomic writes, but a damaged disk must not stop the run
                log.warning("feature store: ignoring unreadable chunk %s (%s); its images will be recomputed", describe_path(path), exc)
                continue
            if features.shape != (len(keys), self.dim) or len(signatures) != len(keys):
                log.warning("feature store: ignoring chunk %s with inconsistent shapes", describe_path(path))
                continue
            slot = len(self._features)
            self._features.append(features.astype(self.dtype, copy=False))
            self._signatures.append(signatures)
            for row, key in enumerate(keys.tolist()):
                self._index[key] = (slot, row)  # a later chunk (a recomputed, edited file) wins

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: str, signature: str | None) -> np.ndarray | None:
        """The stored row of ``key`` if its file still has ``signature``, else None."""
        found = self._index.get(key)
        if found is None or signature is None:
            return None
        slot, row = found
        if str(self._signatures[slot][row]) != signature:
            return None
        return self._features[slot][row]

    def add_chunk(self, keys: list[str], signatures: list[str], features: np.ndarray) -> Path:
        """Write one chunk durably (fsync + rename) and index it."""
        features = np.ascontiguousarray(features, dtype=self.dtype)
        path = self.root / f"chunk-{self._next:06d}.npz"
        self._next += 1
        with atomic_writer(path, "wb") as handle:
            np.savez(handle, features=features, keys=np.array(keys, dtype=str), signatures=np.array(signatures, dtype=str))
        slot = len(self._features)
        self._features.append(features)
        self._signatures.append(np.array(signatures, dtype=str))
        for row, key in enumerate(keys):
            self._index[key] = (slot, row)
        return path
