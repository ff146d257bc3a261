"""Append-only CSV logs (the image manifest and the rejection log) that survive being killed mid-write.

Every row is one physical line, written with one ``write`` and fsynced before the next download
starts, so after a crash at most the last line is torn. On reopening, a torn last line is dropped
(and reported) and everything before it is trusted; damage anywhere else is an error, because
it means the file was edited, not interrupted.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from graphrec._io import atomic_write_bytes
from graphrec._log import get_logger
from graphrec.errors import InputError, describe_path

log = get_logger(__name__)

# The journal: one row per (image, keyword) find, appended and fsynced as it happens. It is the
# resume state; manifest.csv is derived from it.
JOURNAL_COLUMNS = (
    "path",  # relative to the output folder, "/"-separated
    "keywords",  # the one keyword as given in vocab.txt (never the translated query)
    "weight",  # 1 / (1 + rank / per_keyword), in (0, 1]
    "source_url",  # the page that states the licence and author
    "licence",
    "author",
    "sha256",  # of the file at `path`
    "source_sha256",  # of the bytes as downloaded: the key that finds the same image under two URLs
    "download_url",
    "source",  # commons | openverse
    "query",  # the search string that found it
    "rank",  # 0-based position among this keyword's candidates
    "title",
    "licence_url",
    "fetched_at",  # UTC, ISO 8601
)

# The DESIGN.md image manifest: one row per image file. An image found for several keywords has
# them all in `keywords` ("|"-separated) with one weight each in `weight` (same order); the
# provenance columns describe where the file itself came from (its first find).
MANIFEST_COLUMNS = (
    "path",
    "keywords",
    "weight",
    "source_url",
    "licence",
    "author",
    "sha256",
    "source",
    "title",
    "licence_url",
    "download_url",
    "queries",  # the search string behind each keyword, "|"-separated like keywords
    "fetched_at",
)

REJECT_COLUMNS = ("keyword", "download_url", "reason", "detail", "retry", "source_url", "query", "rank", "fetched_at")


@dataclass
class LogContents:
    rows: list[dict[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # torn or unreadable tail, as text, for the report


def clean_field(value: object) -> str:
    # One row must stay one line, or a torn tail could not be told from a quoted newline.
    return " ".join(str(value).split()) if value is not None else ""


def format_row(columns: Sequence[str], row: Mapping[str, object]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([clean_field(row.get(name, "")) for name in columns])
    return buffer.getvalue().encode("utf-8")


def read_log(path: str | os.PathLike[str], columns: Sequence[str]) -> LogContents:
    """Rows of an append log; a torn last line is cut off the file (atomically) and listed in ``dropped``."""
    path = Path(path)
    if not path.exists():
        return LogContents()
    data = path.read_bytes()
    if not data:
        return LogContents()
    contents = LogContents()
    good_end = len(data)
    if not data.endswith(b"\n"):
        good_end = data.rfind(b"\n") + 1  # 0 when even the header is torn
        contents.dropped.append(data[good_end:].decode("utf-8", errors="replace"))
    lines = data[:good_end].split(b"\n")[:-1]
    if lines:
        try:
            header = next(csv.reader([lines[0].decode("utf-8-sig")]))
        except (UnicodeDecodeError, csv.Error):
            header = []
        if tuple(header) != tuple(columns):
            raise InputError(
                f"{describe_path(path)} is not a collect-images log: expected the header {','.join(columns)!r}, "
                f"found {lines[0][:200].decode('utf-8', errors='replace')!r}; choose another --out folder or move the file away."
            )
    for number, raw in enumerate(lines[1:], start=2):
        is_last = number == len(lines)
        values: list[str] | None
        try:
            values = next(csv.reader([raw.decode("utf-8")]))
        except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
            values, problem = None, str(exc) or "empty line"
        else:
            problem = f"{len(values)} fields instead of {len(columns)}"
        if values is None or len(values) != len(columns):
            if is_last:  # a crash between write and fsync on a filesystem that reorders
                good_end = sum(len(line) + 1 for line in lines[:-1])
                contents.dropped.append(raw.decode("utf-8", errors="replace"))
                break
            raise InputError(
                f"{describe_path(path)} line {number}: {problem}; the file was edited or damaged somewhere other than its "
                f"last line. Fix or delete that line and run again."
            )
        contents.rows.append(dict(zip(columns, values, strict=True)))
    if contents.dropped:
        log.warning("%s: dropped a torn last line left by an interrupted run: %r", path, contents.dropped[-1][:200])
        atomic_write_bytes(path, data[:good_end])
    return contents


def rewrite_log(path: str | os.PathLike[str], columns: Sequence[str], rows: Sequence[Mapping[str, object]]) -> None:
    """Replace a log with ``rows`` (atomically), e.g. to forget rows whose files were deleted."""
    lines = [format_row(columns, dict(zip(columns, columns, strict=True)))]
    lines += [format_row(columns, row) for row in rows]
    atomic_write_bytes(path, b"".join(lines))


def merge_finds(rows: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Journal rows -> manifest rows: one per file, its keywords and weights joined with "|" in the order found."""
    merged: dict[str, dict[str, str]] = {}
    labels: dict[str, dict[str, tuple[str, str]]] = {}
    for row in rows:
        path = row["path"]
        if path not in merged:
            merged[path] = {name: row.get(name, "") for name in MANIFEST_COLUMNS}
            labels[path] = {}
        seen = labels[path]
        keyword = row["keywords"]
        # The same keyword twice (two URLs, same bytes) cannot happen in a journal the collector wrote;
        # should one be edited in, the better rank wins, as it would in read_image_manifest.
        if keyword not in seen or float(row["weight"]) > float(seen[keyword][0]):
            seen[keyword] = (row["weight"], row.get("query", ""))
    for path, row in merged.items():
        row["keywords"] = "|".join(labels[path])
        row["weight"] = "|".join(weight for weight, _ in labels[path].values())
        row["queries"] = "|".join(query for _, query in labels[path].values())
    return list(merged.values())


def write_manifest(path: str | os.PathLike[str], journal_rows: Sequence[Mapping[str, str]]) -> int:
    """(Re)write the manifest from the journal, atomically, so a reader never sees half of it. Returns its row count."""
    rows = merge_finds(journal_rows)
    rewrite_log(path, MANIFEST_COLUMNS, rows)
    return len(rows)


class AppendLog:
    """Appends rows durably: header on creation, then one fsynced line per row."""

    def __init__(self, path: str | os.PathLike[str], columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = tuple(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        if fresh:
            self._write(format_row(self.columns, dict(zip(self.columns, self.columns, strict=True))))

    def _write(self, line: bytes) -> None:
        self._handle.write(line)
        os.fsync(self._handle.fileno())

    def append(self, row: Mapping[str, object]) -> None:
        self._write(format_row(self.columns, row))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
