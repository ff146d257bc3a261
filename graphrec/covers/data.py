"""Album covers labelled by genre: a folder of ``<genre>/<image files>``, read into a :class:`CoverSet`.

Every file is identified by the SHA-256 of its bytes. The same artwork filed under two genres (a
release Discogs lists as both pop and electronic) has no single right answer, and the same file
twice under one genre would let a cover meet itself across a cross-validation split, so by default
(``duplicates="drop"``) a content that appears under more than one genre is dropped and repeats
within a genre are kept once; ``provenance`` counts both. Unreadable files are reported and skipped;
undecodable images are reported and skipped later, when their features are computed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from graphrec._io import sha256_file
from graphrec._log import get_logger, progress
from graphrec.errors import InputError, describe_path

log = get_logger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"})
Duplicates = Literal["drop", "keep"]


@dataclass(frozen=True, eq=False)
class CoverSet:
    """Cover files with their genre: ``paths[i]`` is labelled ``genres[labels[i]]``."""

    paths: tuple[str, ...]  # absolute
    labels: np.ndarray  # int64, index into genres
    genres: tuple[str, ...]  # sorted genre names
    sha256: tuple[str, ...]  # of each file's bytes
    root: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.paths)
        if len(self.labels) != n or len(self.sha256) != n:
            raise InputError(
                f"a CoverSet needs one label and one hash per path; got {n} paths, {len(self.labels)} labels, "
                f"{len(self.sha256)} hashes."
            )
        if n and (int(self.labels.min()) < 0 or int(self.labels.max()) >= len(self.genres)):
            raise InputError(
                f"CoverSet labels must index its {len(self.genres)} genres; found labels "
                f"{int(self.labels.min())}..{int(self.labels.max())}."
            )

    def __len__(self) -> int:
        return len(self.paths)

    def genre_of(self, i: int) -> str:
        return self.genres[int(self.labels[i])]

    def counts(self) -> dict[str, int]:
        """Covers per genre, in genre order."""
        found = np.bincount(self.labels, minlength=len(self.genres))
        return {genre: int(c) for genre, c in zip(self.genres, found)}

    def subset(self, indices: Sequence[int] | np.ndarray) -> "CoverSet":
        """The covers at ``indices`` (same genre list, so labels keep their meaning)."""
        take = np.asarray(indices, dtype=np.int64)
        return CoverSet(
            paths=tuple(self.paths[i] for i in take),
            labels=self.labels[take].copy(),
            genres=self.genres,
            sha256=tuple(self.sha256[i] for i in take),
            root=self.root,
            provenance=dict(self.provenance),
        )

    def select_genres(self, names: Sequence[str]) -> "CoverSet":
        """Only the covers of ``names``, relabelled 0.. in the order given."""
        unknown = [g for g in names if g not in self.genres]
        if unknown or len(set(names)) != len(names) or not names:
            raise InputError(f"genres {list(names)} must be distinct names from {list(self.genres)}; unknown: {unknown}.")
        old_to_new = {self.genres.index(g): j for j, g in enumerate(names)}
        keep = np.flatnonzero(np.isin(self.labels, list(old_to_new)))
        picked = self.subset(keep)
        labels = np.array([old_to_new[int(x)] for x in picked.labels], dtype=np.int64)
        return CoverSet(paths=picked.paths, labels=labels, genres=tuple(names), sha256=picked.sha256,
                        root=self.root, provenance=dict(self.provenance))


def _genre_folders(root: Path, genres: Sequence[str] | None) -> list[Path]:
    if not root.is_dir():
        raise InputError(
            f"cover folder {describe_path(root)} does not exist or is not a folder; expected a folder of "
            "<genre>/<image files>, e.g. ../shared/data/covers."
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if genres is not None:
        by_name = {p.name: p for p in folders}
        missing = [g for g in genres if g not in by_name]
        if missing:
            raise InputError(f"cover folder {describe_path(root)} has no genre folder {missing}; it has {sorted(by_name)}.")
        folders = [by_name[g] for g in sorted(set(genres))]
    return folders


def read_cover_folder(
    root: str | os.PathLike[str],
    *,
    genres: Sequence[str] | None = None,
    duplicates: Duplicates = "drop",
    per_genre: int | None = None,
    seed: int = 0,
    show_progress: bool | None = None,
) -> CoverSet:
    """Read ``root/<genre>/<images>`` (sub-folder name = genre), hashing every file.

    ``genres`` restricts to those folders; ``per_genre`` keeps a seeded random sample of at most that
    many covers per genre (after duplicates are handled); ``duplicates`` as the module says.
    """
    if duplicates not in ("drop", "keep"):
        raise InputError(f"duplicates must be 'drop' or 'keep', got {duplicates!r}.")
    if per_genre is not None and per_genre < 1:
        raise InputError(f"per_genre must be a positive integer or None, got {per_genre!r}.")
    root = Path(root).resolve()
    folders = _genre_folders(root, genres)
    listed: list[tuple[str, str]] = []  # (genre, path)
    for folder in folders:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            log.warning("cover folder %s has no image files; genre %r left out", folder, folder.name)
        listed.extend((folder.name, str(p)) for p in files)
    skipped: list[tuple[str, str]] = []
    hashed: list[tuple[str, str, str]] = []  # (genre, path, sha256)
    for genre, path in progress(listed, show_progress=show_progress, unit="file", desc="hashing covers"):
        try:
            hashed.append((genre, path, sha256_file(path)))
        except OSError as exc:
            skipped.append((path, f"unreadable file ({exc})"))
            log.warning("skipping cover %s: unreadable file (%s)", path, exc)

    genres_of: dict[str, set[str]] = defaultdict(set)
    for genre, _, digest in hashed:
        genres_of[digest].add(genre)
    ambiguous = {d for d, gs in genres_of.items() if len(gs) > 1}
    kept: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    repeats = 0
    for genre, path, digest in hashed:
        if duplicates == "drop":
            if digest in ambiguous:
                continue
            if digest in seen:
                repeats += 1
                continue
            seen.add(digest)
        kept.append((genre, path, digest))

    names = sorted({g for g, _, _ in kept})
    if len(names) < 2:
        raise InputError(
            f"cover folder {describe_path(root)} has covers in {len(names)} genre folder(s) {names}; "
            "a genre lab needs at least two <genre>/ folders with images."
        )
    if per_genre is not None:
        rng = np.random.default_rng(seed)
        sampled = []
        for name in names:
            rows = [row for row in kept if row[0] == name]
            if len(rows) > per_genre:
                rows = [rows[i] for i in sorted(rng.choice(len(rows), size=per_genre, replace=False))]
            sampled.extend(rows)
        kept = sampled
    labels = np.array([names.index(g) for g, _, _ in kept], dtype=np.int64)
    provenance = {
        "root": str(root),
        "files": len(listed),
        "unreadable": [list(s) for s in skipped],
        "duplicates": duplicates,
        "ambiguous_contents_dropped": len(ambiguous) if duplicates == "drop" else 0,
        "ambiguous_files_dropped": sum(1 for _, _, d in hashed if d in ambiguous) if duplicates == "drop" else 0,
        "repeats_dropped": repeats,
        "per_genre": per_genre,
        "seed": seed,
        "covers": len(kept),
    }
    covers = CoverSet(paths=tuple(p for _, p, _ in kept), labels=labels, genres=tuple(names),
                      sha256=tuple(d for _, _, d in kept), root=str(root), provenance=provenance)
    provenance["per_genre_counts"] = covers.counts()
    log.info("covers in %s: %d files, %d kept (%s)", root, len(listed), len(kept), provenance["per_genre_counts"])
    return covers
