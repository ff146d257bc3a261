"""The lab's saved artefacts (a cover index, a genre model): a directory like a graphrec model.

Layout: ``manifest.json`` (``format_version``, ``kind``, config, provenance, SHA-256 of every other
file) beside ``.npz`` arrays (no pickle) and whatever else the kind writes (a FAISS index file). The
directory is written beside its destination and renamed into place (graphrec.model_io's swap), and
every file's checksum is checked on load.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphrec._io import fsync_dir, sha256_file
from graphrec._version import __version__
from graphrec.errors import ModelFormatError, describe_path
from graphrec.model_io import MANIFEST, _checked, _json_default, _swap_into_place

FORMAT_VERSION = 1
KIND_LABELS = {"cover_index": "a cover index (graphrec covers index)", "genre_model": "a genre model (graphrec covers train)"}


def save_artifact(
    target: str | os.PathLike[str], *, kind: str, write: Callable[[Path], None], **fields: Any
) -> Path:
    """Call ``write(staging_dir)`` to fill a fresh directory, add the manifest, and swap it in at ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(staging)
        files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "graphrec_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **fields,
            "files": files,
        }
        with open(staging / MANIFEST, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        fsync_dir(staging)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


@dataclass
class Artifact:
    """A loaded artefact's manifest; ``file(name)`` gives a file's path after checking its checksum."""

    directory: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        return _checked(self.directory, name, self.manifest.get("files", {}))

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.file(name), allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    def malformed(self, problem: str) -> ModelFormatError:
        """The error for an artefact whose files check out but do not fit together."""
        what = KIND_LABELS.get(str(self.manifest.get("kind")), "artefact").split(" (")[0]
        return ModelFormatError(f"{describe_path(self.directory)}, {what}, {problem}; build it again.")

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Turn a missing key or a value of the wrong type met while loading into :meth:`malformed`."""
        try:
            yield
        except (KeyError, TypeError, ValueError) as exc:
            raise self.malformed(f"is malformed ({type(exc).__name__}: {exc})") from None


def open_artifact(path: str | os.PathLike[str], kind: str) -> Artifact:
    """Read and check the manifest of the artefact directory ``path``, which must be of ``kind``."""
    directory = Path(path)
    what = KIND_LABELS.get(kind, kind)
    if not directory.is_dir():
        raise ModelFormatError(f"no directory at {describe_path(directory)}; expected {what}.")
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{describe_path(directory)} has no {MANIFEST}: it is not {what}, or its save was interrupted; build it again."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{describe_path(directory / MANIFEST)} is not valid JSON ({exc}); build it again.") from None
    found = manifest.get("kind") if isinstance(manifest, dict) else None
    if found != kind:
        raise ModelFormatError(
            f"{describe_path(directory)} is {KIND_LABELS.get(str(found), repr(found))}, expected {what}; pass the right directory."
        )
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{describe_path(directory)} has format_version {manifest.get('format_version')!r}, but graphrec {__version__} "
            f"reads version {FORMAT_VERSION}; build it again with this graphrec."
        )
    return Artifact(directory=directory, manifest=manifest)


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """One ``.npz`` of plain arrays (object arrays refused: they would need pickle)."""
    payload: dict[str, Any] = {key: np.asarray(value) for key, value in arrays.items()}
    for key, value in payload.items():
        if value.dtype == object:
            raise TypeError(f"array {key!r} has dtype object, which cannot be saved without pickle; convert it to str or numbers.")
    with open(path, "wb") as handle:
        np.savez(handle, **payload)
        handle.flush()
        os.fsync(handle.fileno())
