"""Score a folder of images with a model: resumable, ordered, one output row per image.

``score_folder(model, folder, out)`` writes the top-k songs of every image under ``folder`` to ``out``
(JSONL or CSV) and every file that cannot be read to ``<out>.errors.jsonl``. Images go through the
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal


from graphrec._env import decode_workers
from graphrec._log import get_logger, progress
from graphrec.errors import InputError, describe_path
from graphrec.vision.io import DEFAULT_MAX_PIXELS
from graphrec.vision.pipeline import iter_features

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

    found: int  # image files under the folder
    scored: int  # scored in this call
    skipped_done: int  # already in the output or errors file from an earlier call
    failed: int  # unreadable in this call, written to the errors file
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


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[str]:
    """Image files under ``folder`` as sorted POSIX paths relative to it (the ids used in the output).

    Sorting makes the output order, and therefore a resumed run, deterministic. Hidden files and
    folders (names starting with '.') are skipped, as editors and OSes leave junk there.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"cannot score {describe_path(root)}: expected a folder of images, found "
            f"{'a file' if root.exists() else 'nothing'}; pass the folder that holds the images."
        )
    found: list[str] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(root)
            for name in filenames:
                if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    found.append((rel_dir / name).as_posix())
    else:
        for entry in os.scandir(root):
            if entry.is_file() and not entry.name.startswith(".") and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(entry.name)
    return sorted(found)


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
        self.errors.write(json.dumps({"path": path, "reason": reason}, ensure_ascii=False) + "\n")

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
) -> ScoreSummary:
    """Recommend ``k`` songs (default: the model's ``RecommendConfig.k``) for every image under ``folder``;
    write one row per image to ``out``.

    ``format`` is "jsonl" or "csv" (default: from ``out``'s suffix, else jsonl). Unreadable files go
    to ``errors_out`` (default ``<out>.errors.jsonl``) as ``{"path", "reason"}`` and the run goes on.
    Paths in both files are relative to ``folder``. Calling again with the same arguments resumes.
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
    paths = list_images(root, recursive=recursive)
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
    skipped = len(paths) - len(todo)
    if skipped:
        log.info("resuming %s: %d of %d images already done, %d to go", out_path, skipped, len(paths), len(todo))

    scored = failed = 0
    sink = _Sink(out_path, errors_path, fmt, out_is_new=not out_data)
    bar = progress(total=len(todo), show_progress=show_progress, unit="img", desc="scoring", leave=True)
    # Decoding runs ahead in workers while the featurizer computes; each batch is written and made
    # durable before the next, so a kill loses at most the batch in flight.
    batches = iter_features(
        recommender.featurizer, [root / rel for rel in todo], batch_size=batch_size, workers=workers, max_pixels=max_pixels
    )
    try:
        for batch in batches:
            if batch.ok:
                for i, recs in zip(batch.ok, recommender.recommend_features(batch.features, k)):
                    sink.write(_row(todo[i], recs, k))
            for i, (_, reason) in zip(batch.failed, batch.failures):
                sink.error(todo[i], reason)
            scored += len(batch.ok)
            failed += len(batch.failed)
            sink.commit()
            bar.update(len(batch.ok) + len(batch.failed))
    finally:
        batches.close()  # a generator: stops the pipeline's decoders  # on an error, stop the decoders now, not at garbage collection
        bar.close()
        sink.close()

    seconds = time.perf_counter() - started
    summary = ScoreSummary(
        found=len(paths),
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


__all__ = ["ScoreSummary", "score_folder", "list_images", "errors_path_for", "IMAGE_SUFFIXES"]
