"""Node vectors as gensim ``KeyedVectors``, and the word2vec binary file that C++ LINE writes.

A model stores its vectors as ``.npy`` arrays whose keys are the song, image and keyword lists
beside them (:mod:`graphrec.model_io`); the word2vec file is for exchange with other tools.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from graphrec._io import atomic_writer
from graphrec._log import get_logger
from graphrec.errors import InputError

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

__all__ = ["to_keyed_vectors", "write_word2vec_binary"]

logger = get_logger(__name__)


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
