"""Score a folder of images with a model: resumable, ordered, one output row per image.

``score_folder(model, folder, out)`` writes the top-k songs of every image under ``folder`` to ``out``
(JSONL or CSV) and every file that cannot be read to ``<out>.errors.jsonl``, as well as every entry
that looks like an image but cannot be scored (see :func:`scan_folder`): nothing found is left out. Images go through the
feature pipeline (:func:`graphrec.vision.pipeline.iter_features`): decoded in workers ahead of the
featurizer, which sees whole batches. After every batch both files are flushed
and fsynced, so a run killed at any point (even ``kill -9``) loses at most the batch in flight; running
the same call again drops a torn last line, skips every path already in either file and scores the
rest. Each image therefore appears exactly once across the two files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal


from graphrec._env import decode_workers
from graphrec._log import get_logger, progress
from graphrec.errors import InputError, describe_path
from graphrec.vision.base import FeatureBatch
from graphrec.vision.engines import FeatureEngine, feature_batches
from graphrec.vision.io import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:  # pragma: no cover

    from graphrec.recommender import Recommendations, Recommender

log = get_logger(__name__)

OutputFormat = Literal["jsonl", "csv"]

#: Suffixes taken as images when listing a folder (lower-cased before comparing).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

CSV_COLUMNS = ("path", "featurizer", "k", "song_ids", "titles", "artists", "scores", "images", "keywords")


@dataclass(frozen=True)
class ScoreSummary:
    """What one :func:`score_folder` call did."""

    found: int  # entries under the folder that look like images: scored, reported, or done before
    scored: int  # scored in this call
    skipped_done: int  # already in the output or errors file from an earlier call
    failed: int  # unreadable or unscorable in this call, written to the errors file
    seconds: float
    images_per_s: float  # (scored + failed) / seconds: the rate of this call's work
    out: str
    errors: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors_path_for(out: str | os.PathLike[str]) -> Path:
    """Where :func:`score_folder` writes unreadable files by default: ``<out>.errors.jsonl``."""
    out = Path(out)
    return out.with_name(out.name + ".errors.jsonl")


#: Suffixes of image formats graphrec does not score. A scan reports such files (convert them) rather
#: than skipping them silently; files with other suffixes (notes.txt, .xmp sidecars) are not images.
UNSUPPORTED_IMAGE_SUFFIXES = frozenset({
    ".svg", ".svgz", ".heic", ".heif", ".avif", ".jxl", ".jp2", ".psd", ".xcf", ".ico", ".eps",
    ".raw", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2",
})


@dataclass(frozen=True)
class FolderScan:
    """What :func:`scan_folder` found: the files to score, and the entries that look like images but cannot be."""

    images: list[str]  # sorted POSIX paths relative to the folder
    unreadable: list[tuple[str, str]]  # (path, reason), sorted by path; non-UTF-8 names shown with \xNN escapes


def printable(text: str) -> str:
    """``text`` writable as UTF-8: bytes of a name that is not UTF-8 (which Python keeps as lone surrogates) as ``\\xNN``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from undecodable bytes
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def scan_folder(folder: str | os.PathLike[str], *, recursive: bool = False) -> FolderScan:
    """Every entry under ``folder`` whose name looks like an image is either to be scored or reported.

    An entry looks like an image when its suffix is in :data:`IMAGE_SUFFIXES` (scored if it is a
    regular file, or a link to one) or in :data:`UNSUPPORTED_IMAGE_SUFFIXES` (reported: convert it).
    Also reported: a dangling link, a folder (in a flat scan; a recursive one descends into it, but
    never through a link, so link loops cannot trap it), a FIFO or device, and a name that is not
    valid UTF-8 (the output could not hold it; it is reported with ``\\xNN`` escapes). Hidden names
    (starting with '.') and other suffixes are left out, as before. Sorting makes the output order,
    and therefore a resumed run, deterministic.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"cannot score {describe_path(root)}: expected a folder of images, found "
            f"{'a file' if root.exists() else 'nothing'}; pass the folder that holds the images."
        )
    images: list[str] = []
    unreadable: list[tuple[str, str]] = []
    pending = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            if not prefix:
                raise InputError(f"cannot score {describe_path(root)}: the folder cannot be read ({exc}); check its permissions.") from None
            unreadable.append((printable(prefix.rstrip("/")), f"this folder cannot be read ({exc}); check its permissions"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = prefix + entry.name
            try:
                if recursive and entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), path + "/"))
                    continue
                linked_folder = recursive and entry.is_symlink() and entry.is_dir()
            except OSError as exc:
                unreadable.append((printable(path), f"it cannot be examined ({exc}); check its permissions"))
                continue
            if linked_folder:
                reason: str | None = (
                    "it is a link to a folder, which a recursive scan does not follow (links can loop); score that folder itself"
                )
            else:
                reason = _why_not_scorable(entry, recursive)
                if reason is None:
                    continue  # not an image by its name
            if not _is_utf8(path):
                reason = "its name is not valid UTF-8 (shown here with \\xNN escapes), so no output file can hold it; rename it to UTF-8"
            if reason:
                log.warning("cannot score %s: %s", printable(path), reason)
                unreadable.append((printable(path), reason))
            else:
                images.append(path)
    return FolderScan(images=sorted(images), unreadable=sorted(unreadable))


def _why_not_scorable(entry: os.DirEntry[str], recursive: bool) -> str | None:
    """None: not an image by its name; "": an image file to score; else why the image-named entry cannot be scored."""
    suffix = os.path.splitext(entry.name)[1].lower()
    if suffix in UNSUPPORTED_IMAGE_SUFFIXES:
        return (
            f"{suffix} is not a format graphrec scores ({', '.join(sorted(IMAGE_SUFFIXES))}); "
            "convert it to JPEG or PNG"
        )
    if suffix not in IMAGE_SUFFIXES:
        return None
    try:
        if entry.is_file():
            return ""
        if entry.is_dir():
            hint = "" if recursive else "; pass --recursive to score the images inside it"
            return f"it is a folder, not an image file{hint}"
        if entry.is_symlink() and not os.path.exists(entry.path):
            return f"it is a link to {printable(os.readlink(entry.path))!r}, which does not exist; fix or remove the link"
    except OSError as exc:
        return f"it cannot be examined ({exc}); check its permissions"
    return "it is not a regular file (a FIFO, socket or device); copy the image into a regular file"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[str]:
    """Image files under ``folder`` as sorted POSIX paths relative to it (the ids used in the output).

    The files :func:`scan_folder` would score; what it reports instead is left out here.
    """
    return scan_folder(folder, recursive=recursive).images


# ---------------------------------------------------------------------------------------------- resuming


def _recover(path: Path) -> bytes:
    """The complete lines of ``path`` (b"" when absent), after truncating a torn last line in place.

    Only the last line can be torn: every batch is written whole, then flushed and fsynced.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    end = data.rfind(b"\n") + 1
    if end != len(data):
        log.warning("%s ends with a torn line (%d bytes), dropping it", path, len(data) - end)
        with open(path, "r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
        data = data[:end]
    return data


def _done_jsonl(path: Path, data: bytes) -> tuple[set[str], dict[str, Any] | None]:
    done: set[str] = set()
    first: dict[str, Any] | None = None
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            done.add(row["path"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(
                f"cannot resume into {describe_path(path)}: line {number} is not a scoring row "
                f"(expected a JSON object with a 'path'), found {line[:80]!r}; "
                "pass a new --out file or delete this one."
            ) from None
        if first is None:
            first = row
    return done, first


def _done_csv(path: Path, data: bytes) -> tuple[set[str], dict[str, Any] | None]:
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, None)
    if header is None:
        return set(), None
    if tuple(header) != CSV_COLUMNS:
        raise InputError(
            f"cannot resume into {describe_path(path)}: expected the CSV header {','.join(CSV_COLUMNS)}, "
            f"found {','.join(header)[:120]!r}; pass a new --out file or delete this one."
        )
    done: set[str] = set()
    first: dict[str, Any] | None = None
    for row in reader:
        if not row:
            continue
        record = dict(zip(CSV_COLUMNS, row))
        done.add(record["path"])
        if first is None:
            first = record
    return done, first


# ---------------------------------------------------------------------------------------------- rows


def _row(path: str, recs: Recommendations, k: int) -> dict[str, Any]:
    return {
        "path": path,
        "featurizer": recs.featurizer,
        "k": k,
        "songs": [
            {
                "song_id": item.song_id,
                "title": item.title,
                "artist": item.artist,
                "score": round(float(item.score), 6),
                # the reason: the dataset images and the keywords that led to this song
                "images": [{"image_id": image_id, "distance": round(float(d), 6)} for image_id, d in item.images],
                "keywords": list(item.keywords),
            }
            for item in recs.items
        ],
    }


def _csv_cells(row: dict[str, Any]) -> list[str]:
    # One CSV row per image: per-song lists are "|"-separated; within a song, its images and
    # keywords are ";"-separated. Newlines never occur, so a torn last line is the only damage possible.
    songs = row["songs"]

    def clean(text: str) -> str:
        return text.replace("\n", " ").replace("\r", " ").replace("|", "/")

    return [
        row["path"],
        row["featurizer"],
        str(row["k"]),
        "|".join(clean(s["song_id"]) for s in songs),
        "|".join(clean(s["title"]) for s in songs),
        "|".join(clean(s["artist"]) for s in songs),
        "|".join(f"{s['score']:.6f}" for s in songs),
        "|".join(";".join(clean(i["image_id"]) for i in s["images"]) for s in songs),
        "|".join(";".join(clean(w) for w in s["keywords"]) for s in songs),
    ]


class _Sink:
    """Appends rows to the output and errors files; :meth:`commit` makes a batch durable."""

    def __init__(self, out: Path, errors: Path, fmt: OutputFormat, out_is_new: bool) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        errors.parent.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.out: IO[str] = open(out, "a", encoding="utf-8", newline="")
        self.errors: IO[str] | None = None
        self.errors_path = errors
        self._csv = csv.writer(self.out, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None and out_is_new:
            self._csv.writerow(CSV_COLUMNS)
            self._sync(self.out)

    def write(self, row: dict[str, Any]) -> None:
        if self._csv is not None:
            self._csv.writerow(_csv_cells(row))
        else:
            self.out.write(json.dumps(row, ensure_ascii=False) + "\n")

    def error(self, path: str, reason: str) -> None:
        if self.errors is None:  # created on the first failure only, so clean runs leave no empty file
            self.errors = open(self.errors_path, "a", encoding="utf-8")
        # printable(): a reason may quote a name that is not UTF-8; the file must stay UTF-8 whatever it holds.
        self.errors.write(json.dumps({"path": printable(path), "reason": printable(reason)}, ensure_ascii=False) + "\n")

    @staticmethod
    def _sync(handle: IO[str]) -> None:
        handle.flush()
        os.fsync(handle.fileno())

    def commit(self) -> None:
        # Errors first: a crash between the two fsyncs then re-scores the batch's good images
        # (absent from the output) but not its bad ones (already recorded), so nothing repeats.
        if self.errors is not None:
            self._sync(self.errors)
        self._sync(self.out)

    def close(self) -> None:
        self.commit()
        self.out.close()
        if self.errors is not None:
            self.errors.close()


# ---------------------------------------------------------------------------------------------- scoring


def score_folder(
    model: Recommender | str | os.PathLike[str],
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: OutputFormat | None = None,
    errors_out: str | os.PathLike[str] | None = None,
    recursive: bool = False,
    k: int | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    show_progress: bool | None = None,
    engine: FeatureEngine | None = None,
) -> ScoreSummary:
    """Recommend ``k`` songs (default: the model's ``RecommendConfig.k``) for every image under ``folder``;
    write one row per image to ``out``.

    ``format`` is "jsonl" or "csv" (default: from ``out``'s suffix, else jsonl). Unreadable files go
    to ``errors_out`` (default ``<out>.errors.jsonl``) as ``{"path", "reason"}`` and the run goes on.
    Paths in both files are relative to ``folder``. Calling again with the same arguments resumes.
    ``engine`` is where the images are featurised (:class:`~graphrec.vision.engines.FeatureEngine`: this
    process, or a Ray cluster); rows are written here, through the same sink, either way.
    """
    started = time.perf_counter()
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise InputError(f"k must be a positive integer, got {k!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}.")
    workers = decode_workers(workers, cap=8)
    if not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a positive integer (image decoding workers), got {workers!r}.")
    out_path = Path(out)
    fmt: OutputFormat = format or ("csv" if out_path.suffix.lower() == ".csv" else "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise InputError(f"format must be 'jsonl' or 'csv', got {fmt!r}.")
    errors_path = Path(errors_out) if errors_out is not None else errors_path_for(out_path)
    if out_path.resolve() == errors_path.resolve():
        raise InputError(f"the output and errors files are both {describe_path(out_path)}; give two different paths.")

    root = Path(folder)
    scan = scan_folder(root, recursive=recursive)
    paths = scan.images
    if isinstance(model, str | os.PathLike):
        from graphrec.api import load

        recommender = load(model)
    else:
        recommender = model
    k = recommender.config.recommend.k if k is None else k

    out_data = _recover(out_path)
    done, first = (_done_csv if fmt == "csv" else _done_jsonl)(out_path, out_data)
    failed_before, _ = _done_jsonl(errors_path, _recover(errors_path))
    if first is not None:
        _check_same_run(out_path, first, recommender.featurizer_name, k)
    finished = done | failed_before
    todo = [p for p in paths if p not in finished]
    unscorable = [(p, reason) for p, reason in scan.unreadable if p not in finished]
    found = len(paths) + len(scan.unreadable)
    skipped = found - len(todo) - len(unscorable)
    if skipped:
        log.info("resuming %s: %d of %d images already done, %d to go", out_path, skipped, found, len(todo) + len(unscorable))

    counts = {"scored": 0, "failed": len(unscorable)}
    sink = _Sink(out_path, errors_path, fmt, out_is_new=not out_data)
    for path, reason in unscorable:  # found by the scan but not scorable: reported first, like any failure
        sink.error(path, reason)
    bar = progress(total=len(todo), show_progress=show_progress, unit="img", desc="scoring", leave=True)

    def rank_and_write(batch: FeatureBatch) -> None:
        if batch.ok:
            for i, recs in zip(batch.ok, recommender.recommend_features(batch.features, k)):
                sink.write(_row(todo[i], recs, k))
        for i, (_, reason) in zip(batch.failed, batch.failures):
            sink.error(todo[i], reason)
        counts["scored"] += len(batch.ok)
        counts["failed"] += len(batch.failed)
        sink.commit()
        bar.update(len(batch.ok) + len(batch.failed))

    # Decoding runs ahead in workers while the featurizer computes, and a batch is ranked and written
    # in a second thread while the featurizer computes the next one. Batches are written one after
    # the other, each made durable before the next, so a kill loses at most the batches in flight.
    batches = feature_batches(
        recommender.featurizer, [root / rel for rel in todo], engine=engine, batch_size=batch_size, workers=workers,
        max_pixels=max_pixels,
    )
    writing: Future[None] | None = None
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphrec-rank") as ranker:
            for batch in batches:
                if writing is not None:
                    writing.result()  # the previous batch is durable (or its error is raised here)
                writing = ranker.submit(rank_and_write, batch)
            if writing is not None:
                writing.result()
    finally:
        batches.close()  # a generator: on an error, stop the decoders now, not at garbage collection
        bar.close()
        sink.close()
    scored, failed = counts["scored"], counts["failed"]

    seconds = time.perf_counter() - started
    summary = ScoreSummary(
        found=found,
        scored=scored,
        skipped_done=skipped,
        failed=failed,
        seconds=round(seconds, 3),
        images_per_s=round((scored + failed) / seconds, 2) if seconds > 0 else 0.0,
        out=str(out_path),
        errors=str(errors_path),
    )
    log.info("scoring done: %s", summary)
    return summary


def _check_same_run(out: Path, first: dict[str, Any], featurizer: str, k: int) -> None:
    """Refuse to append to a file written by another model or k, which would mix two runs' rows."""
    old_featurizer = str(first.get("featurizer", featurizer))
    old_k = int(first.get("k", k))
    if old_featurizer != featurizer or old_k != k:
        raise InputError(
            f"cannot resume into {describe_path(out)}: it holds rows from featurizer {old_featurizer!r} with k={old_k}, "
            f"this run uses featurizer {featurizer!r} with k={k}; pass a new --out file or the same settings."
        )


__all__ = [
    "FolderScan", "IMAGE_SUFFIXES", "ScoreSummary", "UNSUPPORTED_IMAGE_SUFFIXES", "errors_path_for", "list_images",
    "printable", "scan_folder", "score_folder",
]
