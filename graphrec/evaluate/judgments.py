"""precision@10 by human judgment: the judging plan, the judgments file, and their aggregation.

A *plan* (JSON) lists the photos to judge (each with a theme, e.g. "snow forest") and, per photo,
the union of the top-k songs of every method with each method's rank of the song. The plan is the
only place that knows which method proposed which song: the judging page shows the songs mixed and
unlabelled.

The *judgments file* is a CSV with the header ``image,song_id,relevant,judge``. Each judgment is
appended as one whole line and fsync'ed before the page hears "saved", so a closed browser or a
killed server loses at most the judgment in flight. A line cut short by a crash (no final newline,
too few fields, a broken character) is reported and skipped when the file is read; a writer opening
such a file cuts the unfinished line off first, so it can never pass for a whole one. When a judge judges the
same song for the same photo again, the later line wins.
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec._io import atomic_write_json
from graphrec._log import get_logger
from graphrec.errors import InputError, describe_path
from graphrec.evaluate.metrics import bootstrap_ci

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.recommender import Recommender

log = get_logger(__name__)

PLAN_VERSION = 1
HEADER = ("image", "song_id", "relevant", "judge")
_TRUE = {"1", "true", "yes", "y", "relevant"}
_FALSE = {"0", "false", "no", "n", "irrelevant"}
MAX_JUDGE_NAME = 64

# The paper's four test photographs and its precision@10 for them.
PAPER_PRECISION: dict[str, float] = {"snow forest": 0.776, "sky with clouds": 0.623, "coffee": 0.655, "ocean": 0.709}


@dataclass(frozen=True)
class Judgment:
    image: str
    song_id: str
    relevant: bool
    judge: str


def check_judge_name(judge: str) -> str:
    """A judge's name: 1-64 printable characters, no line breaks (it is one CSV field), valid Unicode (it is written as UTF-8)."""
    name = judge.strip() if isinstance(judge, str) else ""
    if not name or len(name) > MAX_JUDGE_NAME or any(c in name for c in "\r\n\x00"):
        raise InputError(f"judge name must be 1 to {MAX_JUDGE_NAME} characters without line breaks, got {judge!r}.")
    if any("\ud800" <= c <= "\udfff" for c in name):  # a lone surrogate, e.g. from JSON "\ud800": no UTF-8 for it
        raise InputError(f"judge name must be valid Unicode text, got {judge!r} (it holds a lone surrogate); type the name again.")
    return name


def _parse_relevant(value: str) -> bool | None:
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


# ---------------------------------------------------------------------------- reading


@dataclass
class JudgmentFile:
    """What a judgments file holds: the good lines in file order, and each skipped line's reason."""

    judgments: list[Judgment]
    problems: list[str] = field(default_factory=list)

    def latest(self) -> dict[tuple[str, str, str], bool]:
        """(image, song_id, judge) -> relevant, the last judgment of each winning."""
        return {(j.image, j.song_id, j.judge): j.relevant for j in self.judgments}


def load_judgments(path: str | os.PathLike[str]) -> JudgmentFile:
    """Read a judgments CSV; broken lines (e.g. the last one, half-written when the process died) are logged and skipped."""
    target = Path(path)
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"judgments file {describe_path(target)} does not exist; judge with `graphrec judge PLAN --judgments FILE` first."
        ) from None
    raw_lines = data.split(b"\n")
    complete_last = data.endswith(b"\n")
    judgments: list[Judgment] = []
    problems: list[str] = []
    header_seen = False
    for number, raw in enumerate(raw_lines, start=1):
        is_last = number == len(raw_lines)
        if is_last and complete_last:
            break  # the empty remainder after the final newline
        if not raw.strip():
            continue
        where = f"{target}:{number}"
        if is_last:
            problems.append(f"{where}: incomplete last line {raw[:60]!r} (the writer stopped mid-line); skipped")
            continue
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            problems.append(f"{where}: not UTF-8; skipped")
            continue
        fields = next(csv.reader([line]), [])
        if not header_seen and [f.strip() for f in fields] == list(HEADER):
            header_seen = True
            continue
        if len(fields) != len(HEADER):
            problems.append(f"{where}: expected {len(HEADER)} fields ({','.join(HEADER)}), found {len(fields)}; skipped")
            continue
        image, song_id, relevant_text, judge = (f.strip() for f in fields)
        relevant = _parse_relevant(relevant_text)
        if relevant is None or not image or not song_id or not judge:
            problems.append(f"{where}: bad value(s) in {line[:80]!r} (relevant must be 1 or 0); skipped")
            continue
        judgments.append(Judgment(image, song_id, relevant, judge))
    for problem in problems:
        log.warning("judgments: %s", problem)
    return JudgmentFile(judgments, problems)


# ---------------------------------------------------------------------------- writing


class JudgmentWriter:
    """Appends judgments to a CSV, one fsync'ed line each; safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._prepare()

    def _prepare(self) -> None:
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "ab") as handle:
            if fresh:
                handle.write((",".join(HEADER) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if not fresh:
            data = self.path.read_bytes()
            if not data.endswith(b"\n"):
                # A crash left half a line, a judgment never confirmed as saved. Cut it off so the next
                # judgment starts on a clean line (once ended by a newline, a cut line could pass as whole).
                keep = data.rfind(b"\n") + 1
                log.warning(
                    "judgments file %s ended in an incomplete line %r (never confirmed as saved); removed it",
                    self.path, data[keep:][:60],
                )
                os.truncate(self.path, keep)
                with open(self.path, "ab") as handle:
                    if keep == 0:
                        handle.write((",".join(HEADER) + "\n").encode("utf-8"))
                    handle.flush()
                    os.fsync(handle.fileno())

    def append(self, judgment: Judgment) -> None:
        judge = check_judge_name(judgment.judge)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [judgment.image, judgment.song_id, "1" if judgment.relevant else "0", judge]
        )
        line = buffer.getvalue().encode("utf-8")
        with self._lock:
            # One write of one whole line in append mode, then fsync: durable before we answer "saved".
            with open(self.path, "ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())


# ---------------------------------------------------------------------------- the plan


def default_judgments_path(plan: str | os.PathLike[str]) -> Path:
    """Where a plan's judgments go unless told otherwise: ``<plan stem>.judgments.csv`` beside the plan."""
    plan = Path(plan)
    return plan.with_name(plan.stem + ".judgments.csv")


def make_plan(
    model: Recommender,
    photos: Sequence[tuple[str, str | os.PathLike[str]]],
    *,
    k: int | None = None,
    seed: int = 0,
    methods: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The judging plan for ``photos`` as (theme, image path) pairs: every method's top-``k`` songs per photo
    (default: the model's ``RecommendConfig.k``)."""
    from graphrec.evaluate.protocol import METHODS, rank_methods

    if not photos:
        raise InputError("give at least one photo to judge, as (theme, path).")
    methods = tuple(methods or METHODS)
    k = model.config.recommend.k if k is None else k
    paths = [Path(p).expanduser().resolve() for _, p in photos]
    for path in paths:
        if not path.is_file():
            raise InputError(f"photo {describe_path(path)} does not exist; give the path of an image file.")
    features = model.featurizer.transform([str(p) for p in paths])
    rankings = rank_methods(model, features, k=k, seed=seed, methods=methods)
    images = []
    used_ids: set[str] = set()
    for q, ((theme, _), path) in enumerate(zip(photos, paths)):
        image_id = _unique_id(theme, used_ids)
        songs: dict[str, dict[str, Any]] = {}
        for method in methods:
            for rank, song_id in enumerate(rankings[method][q], start=1):
                if song_id not in songs:
                    song = model.song(song_id)
                    songs[song_id] = {
                        "song_id": song_id,
                        "title": song.title,
                        "artist": song.artist,
                        "lyrics": song.lyrics[:800],
                        "methods": {},
                    }
                songs[song_id]["methods"][method] = rank
        images.append({"id": image_id, "theme": theme, "path": str(path), "songs": list(songs.values())})
    return {
        "version": PLAN_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "k": k,
        "seed": seed,
        "methods": list(methods),
        "model": {"featurizer": model.featurizer_name, "songs": len(model.song_ids_), "images": len(model.image_ids_)},
        "images": images,
    }


def _unique_id(theme: str, used: set[str]) -> str:
    base = "-".join(theme.split()) or "photo"
    candidate, i = base, 2
    while candidate in used:
        candidate, i = f"{base}-{i}", i + 1
    used.add(candidate)
    return candidate


def save_plan(plan: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    check_plan(plan, str(path))
    atomic_write_json(path, dict(plan))
    return Path(path)


def load_plan(path: str | os.PathLike[str]) -> dict[str, Any]:
    import json

    target = Path(path)
    try:
        plan = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"judging plan {describe_path(target)} does not exist; create it with "
            "`graphrec judge PLAN --create --model DIR --photo 'snow forest=PATH' ...`."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"judging plan {describe_path(target)} is not valid JSON ({exc}); re-create it.") from None
    check_plan(plan, str(target))
    return plan


def check_plan(plan: Any, where: str = "plan") -> None:
    problem = None
    if not isinstance(plan, Mapping) or plan.get("version") != PLAN_VERSION:
        problem = f"expected a judging plan with version {PLAN_VERSION}"
    elif not isinstance(plan.get("images"), list) or not plan["images"]:
        problem = "it lists no images"
    else:
        ids = [img.get("id") for img in plan["images"] if isinstance(img, Mapping)]
        if len(ids) != len(plan["images"]) or len(set(ids)) != len(ids):
            problem = "image ids are missing or repeated"
        elif any(not isinstance(img.get("songs"), list) for img in plan["images"]):
            problem = "an image has no song list"
    if problem:
        raise InputError(f"{where} is not a usable judging plan: {problem}; re-create it with `graphrec judge PLAN --create ...`.")


# ---------------------------------------------------------------------------- aggregation


def aggregate_precision(
    plan: Mapping[str, Any],
    judgments: JudgmentFile | Iterable[Judgment],
    *,
    k: int | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """precision@k per theme and method (and over all themes), with seeded bootstrap 95% intervals.

    Each (song in the method's top k, judge) pair is one 0/1 value; precision is their mean, and the
    interval resamples them. Places a method left empty (fewer than k songs) count as irrelevant for
    every judge. Songs a judge has not judged yet are left out and counted in ``missing``.
    """
    check_plan(plan)
    k = int(k or plan.get("k") or 10)
    latest = judgments.latest() if isinstance(judgments, JudgmentFile) else JudgmentFile(list(judgments)).latest()
    plan_images = {img["id"] for img in plan["images"]}
    judges_of: dict[str, set[str]] = defaultdict(set)
    for image, _, judge in latest:
        judges_of[image].add(judge)
    unknown = sorted({image for image, _, _ in latest} - plan_images)
    if unknown:
        log.warning("judgments name %d image(s) not in the plan (e.g. %r); ignored", len(unknown), unknown[0])
    methods = list(plan.get("methods") or sorted({m for img in plan["images"] for s in img["songs"] for m in s["methods"]}))
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    missing: dict[tuple[str, str], int] = defaultdict(int)
    judges_by_theme: dict[str, set[str]] = defaultdict(set)
    for img in plan["images"]:
        theme = img.get("theme", img["id"])
        judges = sorted(judges_of.get(img["id"], ()))
        judges_by_theme[theme].update(judges)
        judges_by_theme["all"].update(judges)
        for method in methods:
            ranked = sorted((s["methods"][method], s["song_id"]) for s in img["songs"] if method in s["methods"])
            top = [song_id for rank, song_id in ranked if rank <= k]
            for judge in judges:
                for song_id in top:
                    vote = latest.get((img["id"], song_id, judge))
                    for key in ((theme, method), ("all", method)):
                        if vote is None:
                            missing[key] += 1
                        else:
                            values[key].append(1.0 if vote else 0.0)
                for key in ((theme, method), ("all", method)):
                    values[key].extend([0.0] * (k - len(top)))
    themes = list(dict.fromkeys(img.get("theme", img["id"]) for img in plan["images"])) + ["all"]
    rows = []
    for theme in themes:
        for method in methods:
            vals = values.get((theme, method), [])
            mean, low, high = bootstrap_ci(vals, n_resamples=n_resamples, seed=seed)
            rows.append(
                {
                    "theme": theme,
                    "method": method,
                    "k": k,
                    "precision": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "judged": len(vals),
                    "missing": missing.get((theme, method), 0),
                    "judges": len(judges_by_theme.get(theme, ())),
                    "paper": PAPER_PRECISION.get(theme) if method == "ours" else None,
                }
            )
    return rows


def judged_fraction(plan: Mapping[str, Any], judgments: JudgmentFile, judge: str) -> float:
    """Share of the plan's (photo, song) pairs that ``judge`` has judged."""
    latest = judgments.latest()
    total = sum(len(img["songs"]) for img in plan["images"])
    done = sum((img["id"], s["song_id"], judge) in latest for img in plan["images"] for s in img["songs"])
    return float(done / total) if total else float("nan")


__all__ = [
    "HEADER",
    "Judgment",
    "JudgmentFile",
    "JudgmentWriter",
    "PAPER_PRECISION",
    "aggregate_precision",
    "judged_fraction",
    "load_judgments",
    "load_plan",
    "make_plan",
    "save_plan",
]
