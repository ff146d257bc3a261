"""Node vectors as gensim ``KeyedVectors``, and their files: ``.npy`` + JSON keys, or word2vec binary.

No pickle: the vectors are a plain ``.npy`` (loaded with ``allow_pickle=False``)
and the keys a JSON list; every write is atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graphrec._io import atomic_save_npy, atomic_write_json, atomic_writer, sha256_file
from graphrec._log import get_logger
from graphrec.errors import InputError, ModelFormatError, describe_path

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

__all__ = ["to_keyed_vectors", "save_vectors", "load_vectors", "write_word2vec_binary", "FORMAT_VERSION"]

logger = get_logger(__name__)

FORMAT_VERSION = 1


def _check(node_ids: Sequence[str], vectors: np.ndarray, where: str) -> tuple[list[str], np.ndarray]:
    keys = [str(k) for k in node_ids]
    v = np.asarray(vectors)
    if v.ndim != 2:
        raise InputError(f"{where}: vectors must be a 2-D array (nodes x dim), got shape {v.shape}.")
    if v.shape[0] != len(keys):
        raise InputError(f"{where}: got {len(keys)} node ids but {v.shape[0]} vector rows; pass one id per row.")
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise InputError(f"{where}: node ids must be unique, {dup!r} appears more than once.")
    if not np.issubdtype(v.dtype, np.floating) or not np.all(np.isfinite(v)):
        raise InputError(f"{where}: vectors must be finite floats; found dtype {v.dtype} or a NaN/inf entry.")
    return keys, np.ascontiguousarray(v, dtype=np.float32)


def to_keyed_vectors(node_ids: Sequence[str], vectors: np.ndarray) -> "KeyedVectors":
    """gensim ``KeyedVectors`` whose key ``node_ids[i]`` maps to row ``vectors[i]`` (float32)."""
    from gensim.models import KeyedVectors

    keys, v = _check(node_ids, vectors, "to_keyed_vectors")
    kv = KeyedVectors(vector_size=v.shape[1], count=0, dtype=np.float32)
    kv.add_vectors(keys, v)
    return kv


def save_vectors(path: str | os.PathLike[str], node_ids: Sequence[str], vectors: np.ndarray) -> tuple[Path, Path]:
    """Write ``<path>.npy`` (float32 rows) and ``<path>.json`` (keys, shape, checksum); returns both paths."""
    keys, v = _check(node_ids, vectors, "save_vectors")
    base = Path(path)
    npy, meta = base.with_name(base.name + ".npy"), base.with_name(base.name + ".json")
    atomic_save_npy(npy, v)
    atomic_write_json(
        meta,
        {"format_version": FORMAT_VERSION, "count": len(keys), "dim": int(v.shape[1]), "sha256": sha256_file(npy), "keys": keys},
    )
    return npy, meta


def load_vectors(path: str | os.PathLike[str]) -> "KeyedVectors":
    """Read what :func:`save_vectors` wrote, checking version, shape and checksum."""
    base = Path(path)
    npy, meta_path = base.with_name(base.name + ".npy"), base.with_name(base.name + ".json")
    for p in (npy, meta_path):
        if not p.is_file():
            raise ModelFormatError(f"load_vectors: {describe_path(p)} is missing; expected the pair written by save_vectors({describe_path(base)}).")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"load_vectors: {describe_path(meta_path)} is not valid JSON ({exc}); re-save the vectors.") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"load_vectors: {describe_path(meta_path)} has format_version {meta.get('format_version')!r}, expected {FORMAT_VERSION}; "
            "re-save the vectors with this graphrec version."
        )
    if sha256_file(npy) != meta.get("sha256"):
        raise ModelFormatError(f"load_vectors: {describe_path(npy)} does not match the checksum in {describe_path(meta_path)}; the file is damaged or was replaced.")
    vectors = np.load(npy, allow_pickle=False)
    keys = meta.get("keys")
    if not isinstance(keys, list) or vectors.shape != (meta.get("count"), meta.get("dim")) or len(keys) != vectors.shape[0]:
        raise ModelFormatError(f"load_vectors: {describe_path(base)} has {vectors.shape} vectors but its JSON promises {meta.get('count')} x {meta.get('dim')}.")
    return to_keyed_vectors(keys, vectors)


def write_word2vec_binary(path: str | os.PathLike[str], names: Sequence[str], vectors: np.ndarray) -> None:
    """word2vec binary format, as C++ LINE writes it: ``N D\\n`` then per row ``name``, a space, D float32 LE, ``\\n``.

    gensim reads it with ``KeyedVectors.load_word2vec_format(path, binary=True)``.
    """
    keys, v = _check(names, vectors, "write_word2vec_binary")
    bad = next((k for k in keys if not k or any(c.isspace() for c in k)), None)
    if bad is not None:
        raise InputError(f"write_word2vec_binary: node name {bad!r} is empty or contains whitespace, which this format cannot hold.")
    rows = v.astype("<f4", copy=False)
    with atomic_writer(path, "wb") as handle:
        handle.write(f"{len(keys)} {rows.shape[1]}\n".encode())
        # Buffered in blocks: one write per row would dominate for millions of nodes.
        block: list[bytes] = []
        for i, key in enumerate(keys):
            block.append(key.encode("utf-8") + b" " + rows[i].tobytes() + b"\n")
            if len(block) == 8192:
                handle.write(b"".join(block))
                block.clear()
        handle.write(b"".join(block))
