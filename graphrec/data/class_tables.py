"""Reviewed tables that map image classes onto song keywords (docs/class_tables.md says how they were made).

Three CSV files ship in ``graphrec/data/resources/``:

- ``photo_classes.csv`` (``source,class,keywords,weights,reason``): one row per class folder of the
  photo sets (weather, caltech101, scene15). Its words are what the photos of the class visibly show,
  in the words classical lyrics use; they label the image side and are the ground truth of the
  photo evaluation.
- ``photo_overrides.csv`` (``source,class,file,keywords,weights,reason``): single photos whose folder
  says too little or the wrong thing (the snow scenes filed under weather/rain). An override row
  replaces its class row for that one file.
- ``imagenet_keywords.csv`` (``index,name,keywords,weights,reason``): one row per ImageNet class
  (torchvision's category order and names), for the classifier bridge.

``keywords`` and ``weights`` are ``|``-separated and parallel; weights are in (0, 1]. A row with no
keywords says the class has no classical-lyric counterpart (its ``reason`` says why); such rows are
kept and reported, never dropped silently.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from graphrec._log import get_logger
from graphrec.errors import InputError, UnknownKeywordError, describe_path

log = get_logger(__name__)

PathLike = str | os.PathLike[str]
Kind = Literal["photo", "override", "imagenet"]

RESOURCES = Path(__file__).resolve().parent / "resources"
PHOTO_CLASSES = RESOURCES / "photo_classes.csv"
PHOTO_OVERRIDES = RESOURCES / "photo_overrides.csv"
IMAGENET_KEYWORDS = RESOURCES / "imagenet_keywords.csv"
PHOTO_SOURCES = ("weather", "caltech101", "scene15")

COLUMNS: dict[Kind, tuple[str, ...]] = {
    "photo": ("source", "class", "keywords", "weights", "reason"),
    "override": ("source", "class", "file", "keywords", "weights", "reason"),
    "imagenet": ("index", "name", "keywords", "weights", "reason"),
}


@dataclass(frozen=True)
class ClassRow:
    """One reviewed row: a class (or, for an override, one photo) and its weighted song keywords."""

    source: str  # weather | caltech101 | scene15 | imagenet
    name: str  # the class folder's name, or torchvision's ImageNet category name
    keywords: tuple[str, ...]
    weights: tuple[float, ...]
    reason: str
    index: int | None = None  # ImageNet class index 0..999; None for photo rows
    file: str | None = None  # the photo's file name, for an override row
    line: int = field(default=0, compare=False)  # line in the CSV file, for messages

    @property
    def key(self) -> tuple[str, ...]:
        """What must be unique within a table: (source, class) or (source, class, file)."""
        if self.file is not None:
            return (self.source, self.name, self.file)
        return (self.source, self.name)


@dataclass(frozen=True)
class ClassTable(Sequence[ClassRow]):
    """The rows of one table file in file order, found by key."""

    kind: Kind
    rows: tuple[ClassRow, ...]
    path: str

    _by_key: dict[tuple[str, ...], ClassRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {row.key: row for row in self.rows})

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> ClassRow: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ClassRow, ...]: ...
    def __getitem__(self, index: int | slice) -> ClassRow | tuple[ClassRow, ...]:
        return self.rows[index]

    def __iter__(self) -> Iterator[ClassRow]:
        return iter(self.rows)

    def get(self, *key: str) -> ClassRow:
        """The row of ``(source, class)`` (photo), ``(source, class, file)`` (override) or ``(name,)`` (ImageNet)."""
        if self.kind == "imagenet" and len(key) == 1:
            key = ("imagenet", key[0])
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"{describe_path(self.path)} has no row for {'/'.join(key)!r}") from None

    def find(self, *key: str) -> ClassRow | None:
        """Like `get`, but None when the table has no such row."""
        try:
            return self.get(*key)
        except KeyError:
            return None

    def without_keywords(self) -> list[ClassRow]:
        """Rows that name no keyword (no classical-lyric counterpart)."""
        return [row for row in self.rows if not row.keywords]

    def keyword_counts(self) -> Counter[str]:
        """How many rows name each keyword."""
        return Counter(word for row in self.rows for word in row.keywords)


# ---------------------------------------------------------------------------------------------- reading


def _fail(path: Path, line: int, problem: str, fix: str) -> InputError:
    return InputError(f"class table {describe_path(path)} line {line}: {problem}; {fix}.")


def _parse_row(kind: Kind, cells: dict[str, str], path: Path, line: int) -> ClassRow:
    words = [w.strip() for w in cells["keywords"].split("|")] if cells["keywords"].strip() else []
    raw_weights = [w.strip() for w in cells["weights"].split("|")] if cells["weights"].strip() else []
    if any(not w for w in words):
        raise _fail(path, line, f"empty keyword in {cells['keywords']!r}", "remove the stray '|'")
    if len(set(words)) != len(words):
        raise _fail(path, line, f"keyword repeated in {cells['keywords']!r}", "name each keyword once")
    if len(raw_weights) != len(words):
        raise _fail(
            path, line, f"{len(words)} keywords ({cells['keywords']!r}) but {len(raw_weights)} weights ({cells['weights']!r})",
            "give one '|'-separated weight per keyword (both empty for a class with no keywords)",
        )
    weights: list[float] = []
    for raw, word in zip(raw_weights, words):
        try:
            weight = float(raw)
        except ValueError:
            raise _fail(path, line, f"weight {raw!r} of {word!r} is not a number", "give a number in (0, 1]") from None
        if not (math.isfinite(weight) and 0 < weight <= 1):
            raise _fail(path, line, f"weight {raw!r} of {word!r} is outside (0, 1]", "give a number in (0, 1]")
        weights.append(weight)
    if not cells["reason"].strip():
        raise _fail(path, line, "empty reason", "say in a few words why the class gets these keywords (or none)")
    reason = cells["reason"].strip()
    if kind == "imagenet":
        try:
            index = int(cells["index"])
        except ValueError:
            raise _fail(path, line, f"index {cells['index']!r} is not an integer", "give the class index 0..999") from None
        name = cells["name"].strip()
        if not name:
            raise _fail(path, line, "empty name", "give torchvision's category name")
        return ClassRow("imagenet", name, tuple(words), tuple(weights), reason, index=index, line=line)
    source, name = cells["source"].strip(), cells["class"].strip()
    if not source or not name:
        raise _fail(path, line, "empty source or class", f"give the photo set ({'|'.join(PHOTO_SOURCES)}) and the class folder's name")
    file = cells["file"].strip() if kind == "override" else None
    if kind == "override" and not file:
        raise _fail(path, line, "empty file", "give the photo's file name inside its class folder")
    return ClassRow(source, name, tuple(words), tuple(weights), reason, file=file, line=line)


def read_class_table(path: PathLike, kind: Kind) -> ClassTable:
    """Read and validate one table file; every error names the file, the line and the fix."""
    if kind not in COLUMNS:
        raise ValueError(f"kind must be one of {tuple(COLUMNS)}, got {kind!r}")
    path = Path(path)
    expected = COLUMNS[kind]
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"class table {describe_path(path)} does not exist; give a CSV with the header {','.join(expected)}.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"class table {describe_path(path)} is not UTF-8 ({exc}); re-save it as UTF-8.") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise _fail(path, 1, f"malformed CSV ({exc})", "check the quoting") from None
    if tuple(header) != expected:
        raise _fail(path, 1, f"header {','.join(header)!r}", f"the header must be {','.join(expected)}")
    rows: list[ClassRow] = []
    seen: dict[tuple[str, ...], int] = {}
    seen_index: dict[int, int] = {}
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            if len(cells) != len(expected):
                raise _fail(
                    path, line, f"{len(cells)} columns, expected {len(expected)} ({','.join(expected)})",
                    "quote a field that contains a comma, and give every column (empty keywords and weights are allowed)",
                )
            row = _parse_row(kind, dict(zip(expected, cells)), path, line)
            if row.key in seen:
                raise _fail(path, line, f"{'/'.join(row.key)!r} already has a row on line {seen[row.key]}", "keep one row per class")
            if row.index is not None:
                if row.index in seen_index:
                    raise _fail(path, line, f"index {row.index} already used on line {seen_index[row.index]}", "keep one row per class index")
                seen_index[row.index] = line
            seen[row.key] = line
            rows.append(row)
    except csv.Error as exc:
        raise _fail(path, reader.line_num, f"malformed CSV ({exc})", "check the quoting") from None
    if not rows:
        raise InputError(f"class table {describe_path(path)} has no rows; add one row per class under the header {','.join(expected)}.")
    return ClassTable(kind, tuple(rows), str(path))


def load_class_table(path: PathLike | None = None) -> ClassTable:
    """The photo-class table (default: the shipped ``photo_classes.csv``)."""
    return read_class_table(PHOTO_CLASSES if path is None else path, "photo")


def load_photo_overrides(path: PathLike | None = None) -> ClassTable:
    """The per-photo overrides (default: the shipped ``photo_overrides.csv``)."""
    return read_class_table(PHOTO_OVERRIDES if path is None else path, "override")


def load_imagenet_table(path: PathLike | None = None, *, categories: Sequence[str] | None = None) -> ClassTable:
    """The ImageNet-class table (default: the shipped ``imagenet_keywords.csv``).

    With ``categories`` (e.g. torchvision's ``weights.meta["categories"]``) the rows must be exactly
    those classes, index by index, so that a classifier's output column i reads row i.
    """
    table = read_class_table(IMAGENET_KEYWORDS if path is None else path, "imagenet")
    if categories is not None:
        by_index = {row.index: row for row in table if row.index is not None}
        for i, name in enumerate(categories):
            row = by_index.get(i)
            if row is None:
                raise InputError(f"class table {describe_path(table.path)}: no row for class index {i} ({name!r}); add one.")
            if row.name != name:
                raise _fail(Path(table.path), row.line, f"index {i} is named {row.name!r}, the classifier calls it {name!r}", "use the classifier's category name")
        extra = sorted(set(by_index) - set(range(len(categories))))
        if extra:
            raise _fail(Path(table.path), by_index[extra[0]].line, f"index {extra[0]} is beyond the classifier's {len(categories)} classes", "remove the row")
    return table


def photo_keywords(
    classes: ClassTable, overrides: ClassTable | None, source: str, name: str, file: str
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The keywords and weights of one photo: its override row if there is one, else its class row."""
    row = overrides.find(source, name, file) if overrides is not None else None
    if row is None:
        row = classes.get(source, name)
    return row.keywords, row.weights


def check_photo_folders(table: ClassTable, photos_root: PathLike, overrides: ClassTable | None = None) -> list[str]:
    """Differences between the table and ``<photos_root>/<source>/<class>/`` (and the overrides' files); [] when none."""
    root = Path(photos_root)
    problems: list[str] = []
    folders = {(s, d.name) for s in PHOTO_SOURCES if (root / s).is_dir() for d in (root / s).iterdir() if d.is_dir()}
    rows = {row.key for row in table}
    problems += [f"class folder {s}/{c} has no row in {table.path}" for s, c in sorted(folders - rows)]
    problems += [f"row {s}/{c} of {table.path} has no class folder under {root}" for s, c in sorted(rows - folders)]
    for row in overrides or ():
        if not (root / row.source / row.name / (row.file or "")).is_file():
            problems.append(f"override {'/'.join(row.key)} (line {row.line}) names no photo under {root}")
    return problems


# ---------------------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class VocabularyReport:
    """How a table's keywords meet a song vocabulary. Rows are reported, never dropped."""

    rows: int
    rows_with_vocabulary_word: int
    without_keywords: tuple[str, ...]  # classes whose row names no keyword at all (by design)
    without_vocabulary_word: tuple[str, ...]  # classes with keywords, none of them in the vocabulary
    unknown_keywords: dict[str, int]  # keyword not in the vocabulary -> rows naming it

    def summary(self) -> str:
        return (
            f"{self.rows_with_vocabulary_word} of {self.rows} rows name a vocabulary word; "
            f"{len(self.without_keywords)} have no keywords; {len(self.without_vocabulary_word)} name only words "
            f"outside the vocabulary ({', '.join(self.without_vocabulary_word[:10])}{' ...' if len(self.without_vocabulary_word) > 10 else ''}); "
            f"{len(self.unknown_keywords)} distinct keywords are outside it."
        )


def check_against_vocabulary(table: ClassTable, vocabulary: Iterable[str], *, strict: bool = False) -> VocabularyReport:
    """Which rows name at least one vocabulary word, which name none, and which keywords are unknown.

    ``strict=True`` raises `UnknownKeywordError` naming the first unknown keyword's row instead of
    reporting it.
    """
    vocab = set(vocabulary)
    unknown: Counter[str] = Counter()
    empty: list[str] = []
    outside: list[str] = []
    with_word = 0
    for row in table:
        label = "/".join(row.key[1:] if row.source == "imagenet" else row.key)
        if not row.keywords:
            empty.append(label)
            continue
        missing = [w for w in row.keywords if w not in vocab]
        if missing and strict:
            raise UnknownKeywordError(
                f"class table {describe_path(table.path)} line {row.line} ({label}): keyword {missing[0]!r} is not in the "
                f"{len(vocab)}-word vocabulary; map it onto a vocabulary word, add it to the vocabulary, or check with strict=False."
            )
        unknown.update(missing)
        if len(missing) == len(row.keywords):
            outside.append(label)
        else:
            with_word += 1
    report = VocabularyReport(len(table), with_word, tuple(empty), tuple(outside), dict(unknown.most_common()))
    if outside:
        log.warning("%s: %s", table.path, report.summary())
    return report
