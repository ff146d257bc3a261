"""Keyword-labelled image sets: manifests (CSV/JSONL), keyword folders and the shipped emoji.

Mapping image keywords onto the song vocabulary is text logic: :mod:`graphrec.text.mapping`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from graphrec._log import get_logger
from graphrec.errors import ImageError, describe_path

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")


@dataclass(frozen=True)
class ImageRecord:
    """One image and its keywords; ``weights[i]`` in (0, 1] is the relevance of ``keywords[i]``."""

    id: str
    path: str
    keywords: tuple[str, ...]
    weights: tuple[float, ...]
    # provenance columns of the manifest (source_url, licence, author, ...), not needed to build
    extra: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if len(self.keywords) != len(self.weights):
            raise ImageError(
                f"image {self.id!r}: {len(self.keywords)} keywords but {len(self.weights)} weights; give one weight per keyword."
            )
        for kw, w in zip(self.keywords, self.weights):
            if not (isinstance(w, (int, float)) and 0 < w <= 1):
                raise ImageError(f"image {self.id!r}: weight {w!r} of keyword {kw!r} is outside (0, 1]; give a weight in (0, 1].")


@dataclass
class ImageSet(Sequence[ImageRecord]):
    """An ordered collection of images with unique ids, plus where they came from."""

    records: list[ImageRecord]
    provenance: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> ImageRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[ImageRecord]: ...
    def __getitem__(self, index: int | slice) -> ImageRecord | list[ImageRecord]:
        return self.records[index]

    def __iter__(self) -> Iterator[ImageRecord]:
        return iter(self.records)

    def keyword_counts(self) -> Counter[str]:
        """How many images carry each keyword."""
        return Counter(kw for r in self.records for kw in r.keywords)


# ---------------------------------------------------------------------------------------------- manifests


def _split_keywords(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        items = str(value or "").split("|")
    return [k.strip() for k in items if k.strip()]


def _parse_weights(value: Any, n: int, where: str) -> list[float]:
    fix = "give one number in (0, 1] for all keywords, or one per keyword ('|'-separated in CSV, a list in JSONL)"
    if value is None or (isinstance(value, str) and not value.strip()):
        return [1.0] * n
    if isinstance(value, (list, tuple)):
        raw = list(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        raw = [value]
    else:
        raw = [v.strip() for v in str(value).split("|")]
    try:
        weights = [float(v) for v in raw]
    except (TypeError, ValueError):
        raise ImageError(f"{where}: weight {value!r} is not a number; {fix}.") from None
    if len(weights) == 1:
        weights = weights * n
    if len(weights) != n:
        raise ImageError(f"{where}: {len(weights)} weights for {n} keywords; {fix}.")
    for w in weights:
        if not (math.isfinite(w) and 0 < w <= 1):
            raise ImageError(f"{where}: weight {w!r} is outside (0, 1]; {fix}.")
    return weights


def _record(row: dict[str, Any], base: Path, manifest: Path, line: int, missing: str) -> ImageRecord | None:
    where = f"image manifest {describe_path(manifest)} line {line}"
    rel = str(row.get("path") or "").strip()
    if not rel:
        raise ImageError(f"{where}: empty path; give the image file's path relative to the manifest's folder.")
    file = Path(rel) if os.path.isabs(rel) else base / rel
    if not file.is_file():
        if missing == "skip":
            log.warning("%s: image file %s does not exist; skipped", where, file)
            return None
        raise ImageError(
            f"{where}: image file {describe_path(file)} does not exist; fix the path (relative to "
            f"{describe_path(base)}) or remove the row."
        )
    keywords = _split_keywords(row.get("keywords"))
    if not keywords:
        raise ImageError(f"{where}: no keywords for {rel!r}; give at least one keyword ('|'-separated in CSV).")
    weight_value = row.get("weights", row.get("weight"))
    weights = _parse_weights(weight_value, len(keywords), where)
    best: dict[str, float] = {}
    for kw, w in zip(keywords, weights):  # a repeated keyword keeps its largest weight
        best[kw] = max(w, best.get(kw, 0.0))
    image_id = str(row.get("id") or "").strip() or Path(rel).as_posix()
    extra = tuple(
        (str(k), str(v)) for k, v in row.items() if k not in ("id", "path", "keywords", "weight", "weights") and v not in (None, "")
    )
    return ImageRecord(image_id, str(file.resolve()), tuple(best), tuple(best.values()), extra)


def _rows_csv(text: str, manifest: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in (reader.fieldnames or [])]
    reader.fieldnames = fields
    for required in ("path", "keywords"):
        if required not in fields:
            raise ImageError(
                f"image manifest {describe_path(manifest)} line 1: missing column {required!r}; found {fields}. "
                "Expected a header path,keywords,weight[,source_url,licence,author,...]."
            )
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise ImageError(f"image manifest {describe_path(manifest)} line {reader.line_num}: malformed CSV ({exc}); check the quoting.") from None


def _rows_jsonl(text: str, manifest: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImageError(
                f"image manifest {describe_path(manifest)} line {number}: not valid JSON ({exc.msg}); "
                'write one object per line, e.g. {"path": "a.jpg", "keywords": ["雪"], "weight": 1.0}.'
            ) from None
        if not isinstance(obj, dict) or "path" not in obj or "keywords" not in obj:
            raise ImageError(
                f"image manifest {describe_path(manifest)} line {number}: expected an object with 'path' and 'keywords'; "
                f"found {obj if not isinstance(obj, dict) else sorted(obj)}."
            )
        yield number, obj


def read_image_manifest(path: PathLike, *, missing: str = "error") -> ImageSet:
    """Read a CSV or JSONL image manifest (format in docs/DESIGN.md).

    ``missing="skip"`` logs and skips rows whose image file does not exist instead of raising.
    """
    manifest = Path(path)
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
    try:
        text = manifest.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ImageError(
            f"image manifest {describe_path(manifest)} does not exist; give a manifest.csv/.jsonl or a folder of keyword folders."
        ) from None
    except UnicodeDecodeError as exc:
        raise ImageError(f"image manifest {describe_path(manifest)} is not UTF-8 ({exc}); re-save it as UTF-8.") from None
    rows = _rows_jsonl(text, manifest) if manifest.suffix.lower() in (".jsonl", ".json", ".ndjson") else _rows_csv(text, manifest)
    records: list[ImageRecord] = []
    seen: dict[str, int] = {}
    skipped = 0
    for line, row in rows:
        record = _record(row, manifest.parent, manifest, line, missing)
        if record is None:
            skipped += 1
            continue
        if record.id in seen:
            raise ImageError(
                f"image manifest {describe_path(manifest)} line {line}: id {record.id!r} already used on line {seen[record.id]}; "
                "give each image a unique id or path."
            )
        seen[record.id] = line
        records.append(record)
    if not records:
        raise ImageError(f"image manifest {describe_path(manifest)} lists no usable images; add at least one row with a path and keywords.")
    return ImageSet(records, {"path": str(manifest), "format": "manifest", "images": len(records), "skipped_missing": skipped})


def read_image_folder(root: PathLike) -> ImageSet:
    """Read ``<root>/<keyword>/<image files>``: each sub-folder's name is its images' keyword (weight 1.0)."""
    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"image folder {describe_path(root)} does not exist; give a folder with one sub-folder per keyword.")
    records: list[ImageRecord] = []
    ignored = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES and not file.name.startswith("."):
                records.append(ImageRecord(f"{folder.name}/{file.name}", str(file.resolve()), (folder.name.strip(),), (1.0,)))
            else:
                ignored += 1
    loose = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if loose:
        log.warning("image folder %s: %d images directly in the folder have no keyword folder and were ignored", root, len(loose))
    if not records:
        raise ImageError(
            f"image folder {describe_path(root)} has no images in keyword sub-folders; put photos in "
            f"<folder>/<keyword>/ (e.g. {root}/雪/photo.jpg), with suffixes {', '.join(IMAGE_SUFFIXES)}."
        )
    return ImageSet(records, {"path": str(root), "format": "folder", "images": len(records), "ignored_files": ignored + len(loose)})


def read_photo_classes(
    root: PathLike,
    *,
    classes: Any = None,
    overrides: Any = None,
    sources: Sequence[str] | None = None,
) -> ImageSet:
    """Photos filed as ``<root>/<source>/<class>/<file>``, labelled by a reviewed class table.

    Each photo gets its class row's keywords and weights (or its override row's, see
    :mod:`graphrec.data.class_tables`). ``classes`` defaults to the shipped table, which comes with its
    ``overrides``; a table of your own has none unless given. Photos of classes whose row names no keyword are kept with no
    keywords, so an experiment can count them (a build drops them when it maps images onto the
    vocabulary, and reports it). A class folder missing from the table is an error naming it; files
    that are not images by suffix are skipped and counted. Each record's ``extra`` holds its
    ``source`` and ``class``.
    """
    from graphrec.data import class_tables

    root = Path(root)
    if not root.is_dir():
        raise ImageError(f"photo folder {describe_path(root)} does not exist; give a folder of <source>/<class>/ photo folders.")
    if classes is None:  # the shipped table, with its per-photo overrides
        classes = class_tables.load_class_table()
        overrides = class_tables.load_photo_overrides() if overrides is None else overrides
    wanted = list(sources) if sources is not None else sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    records: list[ImageRecord] = []
    ignored = 0
    unlabelled: Counter[str] = Counter()
    for source in wanted:
        folder = root / source
        if not folder.is_dir():
            raise ImageError(f"photo folder {describe_path(folder)} does not exist; the sources under {describe_path(root)} are {wanted}.")
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if classes.find(source, class_dir.name) is None:
                raise ImageError(
                    f"class folder {describe_path(class_dir)} has no row in the class table {describe_path(classes.path)}; "
                    f"add a row '{source},{class_dir.name},<keywords>,<weights>,<reason>' (empty keywords if lyrics have no word for it)."
                )
            for file in sorted(class_dir.iterdir()):
                if file.name.startswith(".") or not file.is_file() or file.suffix.lower() not in IMAGE_SUFFIXES:
                    ignored += 1
                    continue
                words, weights = class_tables.photo_keywords(classes, overrides, source, class_dir.name, file.name)
                if not words:
                    unlabelled[f"{source}/{class_dir.name}"] += 1
                records.append(ImageRecord(
                    f"{source}/{class_dir.name}/{file.name}", str(file.resolve()), tuple(words), tuple(weights),
                    (("source", source), ("class", class_dir.name)),
                ))
    if not records:
        raise ImageError(f"photo folder {describe_path(root)} has no photos under <source>/<class>/ with suffixes {', '.join(IMAGE_SUFFIXES)}.")
    if ignored:
        log.warning("photo folder %s: %d files are not images by suffix and were skipped", root, ignored)
    return ImageSet(records, {
        "path": str(root), "format": "photo classes", "images": len(records), "ignored_files": ignored,
        "class_table": str(classes.path), "overrides": str(overrides.path) if overrides is not None else None,
        "photos_without_keywords": sum(unlabelled.values()), "classes_without_keywords": sorted(unlabelled),
    })


def read_images(path: PathLike) -> ImageSet:
    """A manifest file, a folder holding manifest.csv/manifest.jsonl, or a folder of keyword folders."""
    path = Path(path)
    if path.is_dir():
        for name in MANIFEST_NAMES:
            if (path / name).is_file():
                return read_image_manifest(path / name)
        return read_image_folder(path)
    return read_image_manifest(path)


def load_default_images() -> ImageSet:
    """The image side of the default model: the real photos shipped in ``data/images/photos``.

    They are the Multi-class Weather photos (CC BY 4.0), labelled by the reviewed class table; the
    emoji drawings (:func:`load_emoji_images`) stand in as fallback images for words no photo covers.
    """
    from graphrec.data.bundled import PHOTOS_DIR

    photos = read_photo_classes(_shipped(PHOTOS_DIR, "photos"))
    photos.provenance["shipped"] = "data/images/photos (Multi-class Weather Dataset, G. Ajayi 2018, CC BY 4.0)"
    return photos


def load_emoji_images() -> ImageSet:
    """The 64x64 Noto emoji drawings shipped in ``data/images/emoji`` with their Chinese CLDR keywords."""
    from graphrec.data.bundled import EMOJI_MANIFEST

    images = read_image_manifest(_shipped(EMOJI_MANIFEST, "image manifest"))
    images.provenance["shipped"] = "data/images/emoji (Noto Emoji via emoji-datasource-google 16.0.0, emojibase 17.0.0, CLDR 48)"
    return images


def _shipped(path: Path, what: str) -> Path:
    """A path inside the shipped data/, or an ImageError saying how to get it back."""
    if not path.exists():
        raise ImageError(
            f"the shipped {what} {describe_path(path)} is missing; re-create it with "
            "`python tools/make_data.py` or give your own images with read_images(path)."
        )
    return path
