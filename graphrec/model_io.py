"""Saving and loading a built model's parts: a directory of .npy arrays, JSON metadata and a checked manifest.

Layout (``format_version`` 2)::

    manifest.json          format_version, graphrec version, config, featurizer, counts, provenance, sha256 of every file
    vocabulary.json        the K keywords, column order of the keyword matrices
    songs.jsonl            one song per line: id, title, artist, lyrics, popularity, source
    images.jsonl           one image per line: id, path (relative to the model when possible), keywords, weights
    song_keywords.npz      CSR parts (data, indices, indptr, shape) of the song-keyword weights
    song_counts.npz        CSR, same entries: the raw term frequencies (lines holding the word) behind them
    song_vectors.npy       LINE vectors of the songs (rows follow songs.jsonl)
    image_vectors.npy      LINE vectors of the images (rows follow images.jsonl)
    keyword_vectors.npy    LINE vectors of the keywords
    classes.json           with a classifier bridge: the class node ids (classifier column numbers) and labels
    class_keywords.npz     with a classifier bridge: CSR class-keyword weights (rows follow classes.json)
    class_vectors.npy      with a classifier bridge: LINE vectors of the classes
    image_features.npy     the images' features in the featurizer's space
    image_index.faiss      when the first stage's index is a FAISS one (RecommendConfig.index, chosen by size):
                           that index in FAISS's format, so loading does not rebuild it (an IVF-PQ index over a
                           million images takes minutes to train); the manifest's "image_index" names its kind

No pickle anywhere. The directory is written beside its destination, in a staging folder
``.NAME.PID.XXXX.tmp`` (PID: the saving process), then swapped in with two renames: the old model to
``.NAME.old-PID``, the staging folder to ``NAME``. A crash therefore never leaves a mix of two models,
and at every instant the old or the new complete model is at ``NAME`` or recoverable: every load and
save of ``NAME`` first runs :func:`recover`, which (for leftovers of processes that are no longer
alive) finishes a swap whose staging folder is complete, or else puts the old model back, and then
clears the leftovers. Process ids make "no longer alive" decidable on the machine that saved.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphrec._io import fsync_dir, sha256_file
from graphrec._log import get_logger
from graphrec.config import BuildConfig
from graphrec.data.images import ImageRecord
from graphrec.data.songs import Song
from graphrec.graph.build import ClassNodes
from graphrec.index import FaissIndex, describe_index
from graphrec.vision.registry import FEATURIZERS, parse_spec
from graphrec._version import __version__
from graphrec.errors import InputError, ModelFormatError, describe_path

log = get_logger(__name__)

FORMAT_VERSION = 2  # 2: classifier-bridge parts; rank/first-stage settings in the config
MANIFEST = "manifest.json"
INDEX_FILE = "image_index.faiss"
# node kind -> the file (without .npy) that holds its LINE vectors
_VECTOR_FILES = {"song": "song_vectors", "image": "image_vectors", "keyword": "keyword_vectors"}

#: Tests only: called with the name of each step of a save ("staged": the staging folder is complete;
#: "between-renames": the old model is moved aside; "swapped": the new one is in place), so a test can
#: kill the process there. None in normal use.
_fault_hook: Callable[[str], None] | None = None


def _fault_point(step: str) -> None:
    if _fault_hook is not None:
        _fault_hook(step)


def _write_file(directory: Path, name: str, data: bytes, checksums: dict[str, str]) -> None:
    path = directory / name
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    checksums[name] = sha256_file(path)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _csr_bytes(matrix: sp.spmatrix) -> bytes:
    """A sparse matrix as the .npz of its CSR parts (data, indices, indptr, shape), no pickle."""
    csr = sp.csr_matrix(matrix)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        data=csr.data.astype(np.float32),
        indices=csr.indices.astype(np.int32),
        indptr=csr.indptr.astype(np.int64),
        shape=np.array(csr.shape, dtype=np.int64),
    )
    return buffer.getvalue()


def _read_csr(path: Path) -> sp.csr_matrix:
    with np.load(path, allow_pickle=False) as arrays:
        return sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(int(x) for x in arrays["shape"]))


def _jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _stored_image_path(image_path: str, model_dir: Path) -> str:
    """Paths inside or beside the model's tree are stored relative, so a moved checkout still works."""
    path = Path(image_path).resolve()
    try:
        rel = os.path.relpath(path, model_dir.resolve())
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if rel.count("..") <= 3 else str(path)


@dataclass
class ModelParts:
    """Everything a saved model holds, as plain data: what :func:`save_model` writes and :func:`load_model` returns.

    ``vectors`` maps a node kind to its LINE vectors, rows in the order of the matching list:
    ``"song"`` follows ``songs``, ``"image"`` follows ``images``, ``"keyword"`` follows ``vocabulary``.
    The recommender assembles itself from these parts (``Recommender.from_parts``), so this module
    never needs the recommender.
    """

    config: BuildConfig
    vocabulary: list[str]
    songs: list[Song]
    song_keywords: sp.csr_matrix
    images: list[ImageRecord]
    image_features: np.ndarray
    vectors: dict[str, np.ndarray]
    featurizer_name: str
    featurizer_info: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    classes: ClassNodes | None = None  # the classifier bridge's classes; their vectors are vectors["class"]
    song_counts: sp.csr_matrix | None = None  # raw term frequencies behind song_keywords (KeywordResult.counts)
    image_index: Any = None  # the first stage's index over image_features (graphrec.index); a FAISS one is saved


def save_model(parts: ModelParts, path: str | os.PathLike[str]) -> Path:
    """Write ``parts`` to the directory ``path`` atomically and return it.

    ``path`` must be new, an empty folder or an earlier graphrec model (see :func:`check_destination`).
    """
    recover(path)
    target = check_destination(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    checksums: dict[str, str] = {}
    try:
        _write_file(staging, "song_keywords.npz", _csr_bytes(parts.song_keywords), checksums)
        if parts.song_counts is not None:
            _write_file(staging, "song_counts.npz", _csr_bytes(parts.song_counts), checksums)
        for kind, name in _VECTOR_FILES.items():
            _write_file(staging, f"{name}.npy", _npy_bytes(parts.vectors[kind]), checksums)
        if parts.classes is not None:
            _write_file(staging, "class_keywords.npz", _csr_bytes(parts.classes.keywords), checksums)
            _write_file(staging, "class_vectors.npy", _npy_bytes(parts.vectors["class"]), checksums)
            classes = {"ids": parts.classes.ids, "labels": parts.classes.labels}
            _write_file(staging, "classes.json", json.dumps(classes, ensure_ascii=False).encode("utf-8"), checksums)
        _write_file(staging, "image_features.npy", _npy_bytes(parts.image_features), checksums)
        if isinstance(parts.image_index, FaissIndex):
            _write_file(staging, INDEX_FILE, parts.image_index.to_bytes(), checksums)
        _write_file(
            staging, "vocabulary.json", json.dumps(parts.vocabulary, ensure_ascii=False).encode("utf-8"), checksums
        )
        songs = [
            {"id": s.id, "title": s.title, "artist": s.artist, "lyrics": s.lyrics, "popularity": s.popularity, "source": s.source}
            for s in parts.songs
        ]
        _write_file(staging, "songs.jsonl", _jsonl_bytes(songs), checksums)
        images = [
            {
                "id": r.id,
                "path": _stored_image_path(r.path, target),
                "keywords": list(r.keywords),
                "weights": list(r.weights),
            }
            for r in parts.images
        ]
        _write_file(staging, "images.jsonl", _jsonl_bytes(images), checksums)
        manifest = {
            "format_version": FORMAT_VERSION,
            "graphrec_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": parts.config.to_dict(),
            "featurizer": {"name": parts.featurizer_name, "dim": int(parts.image_features.shape[1]), **parts.featurizer_info},
            "counts": {
                "songs": len(parts.songs),
                "images": len(parts.images),
                "keywords": len(parts.vocabulary),
                "line_dim": int(parts.vectors["song"].shape[1]),
                "classes": 0 if parts.classes is None else len(parts.classes),
            },
            "provenance": parts.provenance,
            "image_index": None if parts.image_index is None else describe_index(parts.image_index),
            "files": checksums,
        }
        _write_file(
            staging,
            MANIFEST,
            (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default) + "\n").encode(),
            {},
        )
        fsync_dir(staging)
        _fault_point("staged")
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("saved model to %s", target)
    return target


def check_destination(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if :func:`save_model` may write a model there; else InputError (a file is in the
    way) or ModelFormatError (a folder that is not provably a model), with the one-line reason.

    Allowed: a path that does not exist yet (under folders, not files), an empty folder, or a folder
    that provably holds a graphrec model and nothing else: its manifest.json parses, names graphrec's
    model format, and lists every other file in the folder. Anything else is refused, so a user's
    folder is never replaced. Call it before a long build to fail at once.
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            what = "a file" if target.is_file() else "not a folder"
            raise InputError(
                f"cannot write a model to {describe_path(target)}: it is {what}; give a folder path "
                "(new, empty, or an earlier graphrec model)."
            )
        problem = _not_a_replaceable_model(target)
        if problem is not None:
            raise ModelFormatError(
                f"refusing to replace {describe_path(target)}: {problem}; choose another output path "
                "(or move your files out of it)."
            )
        return target
    for ancestor in target.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise InputError(
                    f"cannot write a model to {describe_path(target)}: {describe_path(ancestor)} is a file, "
                    "not a folder; give a path under a folder."
                )
            break
    return target


def _not_a_replaceable_model(directory: Path) -> str | None:
    """Why the folder ``directory`` must not be replaced by a model, or None when it may be."""
    entries = sorted(os.listdir(directory))
    if not entries:
        return None
    if MANIFEST not in entries:
        return f"it is a non-empty folder that is not a graphrec model (no {MANIFEST})"
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"it is not a graphrec model (its {MANIFEST} is not readable JSON)"
    if not (
        isinstance(manifest, dict)
        and isinstance(manifest.get("format_version"), int)
        and isinstance(manifest.get("graphrec_version"), str)
        and isinstance(manifest.get("files"), dict)
    ):
        return f"it is not a graphrec model (its {MANIFEST} does not name graphrec's model format)"
    foreign = [name for name in entries if name != MANIFEST and name not in manifest["files"]]
    if foreign:
        shown = ", ".join(repr(name) for name in foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        return f"it is a graphrec model but also holds {len(foreign)} file(s) the model did not write ({shown})"
    return None


def _swap_into_place(staging: Path, target: Path) -> None:
    check_destination(target)  # again: the folder may have changed during the build
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        _fault_point("between-renames")
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)  # the new model could not go in: the old one goes back
        raise
    fsync_dir(target.parent)
    _fault_point("swapped")
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def recover(path: str | os.PathLike[str]) -> None:
    """Repair what saves of the model at ``path`` left behind when their process died.

    Only leftovers of processes that are no longer alive are touched (another process may still be
    saving). If nothing is at ``path``, the newest complete staging folder (manifest written, every
    checksum right) is renamed there, which finishes the swap it was part of; failing that, the
    newest moved-aside old model is put back. Then the other leftovers are deleted. Errors (a
    read-only folder, a concurrent recovery) are logged and left for the next call.
    """
    target = Path(path)
    parent = target.parent
    try:
        names = os.listdir(parent)
    except OSError:
        return
    stem = re.escape(target.name)
    staging_name = re.compile(rf"\.{stem}\.(\d+)\.[a-z0-9_]+\.tmp")
    old_name = re.compile(rf"\.{stem}\.old-(\d+)")
    staged: list[Path] = []
    olds: list[Path] = []
    for name in names:
        for pattern, found in ((staging_name, staged), (old_name, olds)):
            match = pattern.fullmatch(name)
            if match and not _process_alive(int(match.group(1))):
                found.append(parent / name)
    if not staged and not olds:
        return
    try:
        if not target.exists() and not target.is_symlink():
            complete = [p for p in staged if _is_complete_model(p)]
            newest = max(complete or olds, key=lambda p: p.stat().st_mtime, default=None)
            if newest is not None:
                os.replace(newest, target)
                fsync_dir(parent)
                what = "finished the interrupted save of" if newest in complete else "restored the previous"
                log.warning("%s model %s (from %s, left by a process that died)", what, target, newest.name)
        for leftover in staged + olds:
            if leftover.exists():
                shutil.rmtree(leftover)
                log.info("removed %s, left by a save whose process died", leftover)
    except OSError as exc:
        log.warning("could not recover the model leftovers beside %s: %s", target, exc)


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (when unsure: yes, so its files are left alone)."""
    if pid <= 0:
        return False
    if pid == os.getpid() or os.name != "posix":  # this process (another thread may be saving), or no way to tell
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def _is_complete_model(directory: Path) -> bool:
    """A staging folder whose save got as far as its manifest (written last) and whose files all check out."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        return isinstance(manifest.get("format_version"), int) and all(
            sha256_file(directory / name) == digest for name, digest in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in a model manifest")


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model's manifest (not its arrays), after :func:`recover` has repaired an interrupted save."""
    directory = Path(path)
    recover(directory)
    if not directory.is_dir():
        raise ModelFormatError(
            f"no model directory at {describe_path(directory)}; build one with `graphrec build --out DIR` "
            "(or `make demo` for the default model)."
        )
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{describe_path(directory)} has no {MANIFEST}: it is not a graphrec model or its save was interrupted; "
            "rebuild it with `graphrec build`."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{describe_path(manifest_path)} is not valid JSON ({exc}); rebuild the model.") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{describe_path(directory)} has model format_version {version!r}, but graphrec {__version__} reads "
            f"version {FORMAT_VERSION}; rebuild the model with this graphrec or install the graphrec that made it."
        )
    return manifest


def _checked(directory: Path, name: str, checksums: dict[str, str]) -> Path:
    path = directory / name
    if name not in checksums:
        raise ModelFormatError(f"the manifest of {describe_path(directory)} lists no checksum for {name}; rebuild the model.")
    if not path.is_file():
        raise ModelFormatError(f"model file {describe_path(path)} is missing; the model is incomplete, rebuild it.")
    digest = sha256_file(path)
    if digest != checksums[name]:
        raise ModelFormatError(
            f"model file {describe_path(path)} fails its checksum (expected sha256 {checksums[name][:12]}…, "
            f"found {digest[:12]}…): it was truncated or changed; rebuild the model."
        )
    return path


def load_model(path: str | os.PathLike[str]) -> ModelParts:
    """Read a model directory written by :func:`save_model`, checking version and every checksum.

    Every way a model can be damaged is a :class:`ModelFormatError` naming the file and the fix,
    also a file whose checksum was re-sealed after it was cut or edited.
    """
    directory = Path(path)
    manifest = read_manifest(directory)
    checksums = manifest.get("files", {})

    def read(name: str, reader: Callable[[Path], Any]) -> Any:
        return _decoded(_checked(directory, name, checksums), reader)

    try:
        vectors = {kind: read(f"{name}.npy", _read_npy) for kind, name in _VECTOR_FILES.items()}
        image_features = read("image_features.npy", _read_npy)
        song_keywords = read("song_keywords.npz", _read_csr)
        song_counts = read("song_counts.npz", _read_csr) if "song_counts.npz" in checksums else None
        classes = None
        if "classes.json" in checksums:
            names = read("classes.json", _read_json)
            classes = ClassNodes(ids=list(names["ids"]), labels=list(names["labels"]), keywords=read("class_keywords.npz", _read_csr))
            vectors["class"] = read("class_vectors.npy", _read_npy)
        vocabulary = read("vocabulary.json", _read_json)
        songs = read("songs.jsonl", _read_songs)
        images = read("images.jsonl", lambda p: _read_images(p, directory))
        config = BuildConfig.from_dict(manifest["config"])
        image_index = None
        if INDEX_FILE in checksums:
            image_index = read(INDEX_FILE, lambda p: FaissIndex.from_bytes(p.read_bytes(), source=describe_path(p)))
    except ModelFormatError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFormatError(f"model {describe_path(directory)} is malformed ({type(exc).__name__}: {exc}); rebuild it.") from None
    featurizer = dict(manifest.get("featurizer", {}))
    name = featurizer.pop("name", None)
    featurizer.pop("dim", None)
    if not name:
        raise ModelFormatError(f"the manifest of {describe_path(directory)} names no featurizer; rebuild the model.")
    try:
        parse_spec(name)
    except InputError:
        raise ModelFormatError(
            f"the manifest of {describe_path(directory)} names featurizer {name!r}, which graphrec {__version__} does not "
            f"have (it has {', '.join(FEATURIZERS)}); rebuild the model, or install the graphrec that made it."
        ) from None
    return ModelParts(
        config=config,
        vocabulary=vocabulary,
        songs=songs,
        song_keywords=song_keywords,
        images=images,
        image_features=image_features,
        vectors=vectors,
        featurizer_name=name,
        featurizer_info=featurizer,
        provenance=manifest.get("provenance", {}),
        classes=classes,
        song_counts=song_counts,
        image_index=image_index,
    )


# What decoding a damaged file raises: numpy (ValueError, EOFError), zip (BadZipFile), JSON and UTF-8
# (ValueError), missing keys and wrong shapes of rows (KeyError, TypeError, IndexError).
_DECODE_ERRORS = (OSError, EOFError, ValueError, KeyError, TypeError, IndexError, AttributeError, zipfile.BadZipFile)


def _decoded(path: Path, reader: Callable[[Path], Any]) -> Any:
    """``reader(path)``, with any decoding failure turned into a ModelFormatError naming the file."""
    try:
        return reader(path)
    except _DECODE_ERRORS as exc:
        raise ModelFormatError(
            f"model file {describe_path(path)} cannot be decoded ({type(exc).__name__}: {exc}) although it matches "
            "the manifest's checksum: it was damaged or edited and the checksum re-sealed; rebuild the model."
        ) from None


def _read_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_songs(path: Path) -> list[Song]:
    return [
        Song(
            id=row["id"], title=row["title"], artist=row["artist"], lyrics=row["lyrics"],
            popularity=row.get("popularity"), source=row.get("source", ""),
        )
        for row in _read_jsonl(path)
    ]


def _read_images(path: Path, directory: Path) -> list[ImageRecord]:
    return [
        ImageRecord(
            id=row["id"],
            path=str((directory / row["path"]).resolve()) if not os.path.isabs(row["path"]) else row["path"],
            keywords=tuple(row["keywords"]),
            weights=tuple(float(w) for w in row["weights"]),
        )
        for row in _read_jsonl(path)
    ]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
