"""The judging page: one photo at a time, the songs of every method mixed and unlabelled.

``create_app(plan, judgments_path)`` returns a FastAPI app; `graphrec judge PLAN` runs it on localhost.

- ``GET /``, ``GET /static/{name}``: the page (three files shipped in the package; nothing from a CDN).
- ``GET /api/plan?judge=NAME``: the photos with this judge's progress.
- ``GET /api/task?judge=NAME[&image=ID]``: one photo's songs in a fixed shuffled order, with the
  judge's earlier answers; without ``image``, the first photo the judge has not finished.
- ``GET /api/image/{image_id}``: the photo, found by id in the plan (input never becomes a path).
- ``POST /api/judgments`` ``{"image", "song_id", "relevant", "judge"}``: appended and fsync'ed before
  the answer, so an answered "saved" survives a closed browser or a killed server.

Which method proposed which song stays on the server: no response names a method or a rank.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import random
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from graphrec._log import get_logger
from graphrec.errors import InputError
from graphrec.evaluate.judgments import (
    Judgment,
    JudgmentFile,
    JudgmentWriter,
    check_judge_name,
    check_plan,
    load_judgments,
)

log = get_logger(__name__)

_STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "judge.js": "text/javascript; charset=utf-8",
    "judge.css": "text/css; charset=utf-8",
}
_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


class JudgmentIn(BaseModel):
    image: str
    song_id: str
    relevant: bool
    judge: str


def _static_files() -> dict[str, bytes]:
    folder = resources.files("graphrec.evaluate") / "static"
    return {name: (folder / name).read_bytes() for name in _STATIC_TYPES}


def _shuffled(songs: list[dict[str, Any]], image_id: str) -> list[dict[str, Any]]:
    """A fixed order per photo that does not follow any method's ranking."""
    seed = int.from_bytes(hashlib.sha256(image_id.encode("utf-8")).digest()[:8], "big")
    order = list(songs)
    random.Random(seed).shuffle(order)
    return order


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=_HEADERS)


def create_app(plan: dict[str, Any], judgments_path: str | os.PathLike[str]) -> FastAPI:
    """The judging app over a loaded plan (see :func:`graphrec.evaluate.judgments.load_plan`)."""
    check_plan(plan)
    static = _static_files()
    images = {img["id"]: img for img in plan["images"]}
    order = [img["id"] for img in plan["images"]]
    songs_of = {img["id"]: {s["song_id"] for s in img["songs"]} for img in plan["images"]}
    writer = JudgmentWriter(judgments_path)
    # The page needs each judge's answers so far: read the file once, then keep the table current.
    lock = threading.Lock()
    existing = load_judgments(judgments_path) if Path(judgments_path).exists() else JudgmentFile([])
    answers: dict[tuple[str, str, str], bool] = existing.latest()

    app = FastAPI(title="graphrec judging", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.writer = writer

    def judged(image_id: str, judge: str) -> int:
        return sum((image_id, s, judge) in answers for s in songs_of[image_id])

    @app.get("/")
    def index() -> Response:
        return Response(static["index.html"], media_type=_STATIC_TYPES["index.html"], headers=_HEADERS)

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:  # a fixed table: no path is ever built from the request
            return _error(404, f"no static file {name!r}")
        return Response(static[name], media_type=_STATIC_TYPES[name], headers=_HEADERS)

    @app.get("/api/plan")
    def plan_summary(judge: str = Query("")) -> JSONResponse:
        with lock:
            rows = [
                {
                    "id": image_id,
                    "theme": images[image_id].get("theme", image_id),
                    "songs": len(songs_of[image_id]),
                    "judged": judged(image_id, judge.strip()) if judge.strip() else 0,
                }
                for image_id in order
            ]
        return JSONResponse({"images": rows}, headers=_HEADERS)

    @app.get("/api/task")
    def task(judge: str = Query(...), image: str | None = Query(None)) -> JSONResponse:
        try:
            name = check_judge_name(judge)
        except InputError as exc:
            return _error(422, str(exc))
        with lock:
            if image is None:
                image = next((i for i in order if judged(i, name) < len(songs_of[i])), None)
                if image is None:
                    return JSONResponse({"done": True, "images": len(order)}, headers=_HEADERS)
            if image not in images:
                return _error(404, f"no photo {image!r} in this plan")
            entry = images[image]
            songs = [
                {
                    "song_id": s["song_id"],
                    "title": s.get("title", ""),
                    "artist": s.get("artist", ""),
                    "lyrics": s.get("lyrics", ""),
                    "relevant": answers.get((image, s["song_id"], name)),
                }
                for s in _shuffled(entry["songs"], image)
            ]
            position = order.index(image)
        return JSONResponse(
            {
                "done": False,
                "image": {"id": image, "theme": entry.get("theme", image), "url": f"/api/image/{image}"},
                "songs": songs,
                "position": position + 1,
                "images": len(order),
                "next": order[position + 1] if position + 1 < len(order) else None,
                "previous": order[position - 1] if position > 0 else None,
            },
            headers=_HEADERS,
        )

    @app.get("/api/image/{image_id}")
    def image_file(image_id: str) -> Response:
        entry = images.get(image_id)
        if entry is None:
            return _error(404, f"no photo {image_id!r} in this plan")
        path = Path(entry["path"])
        if not path.is_file():
            return _error(404, f"the photo of {image_id!r} is missing on the server ({path.name})")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, headers=_HEADERS)

    @app.post("/api/judgments")
    def post_judgment(body: JudgmentIn) -> JSONResponse:
        try:
            name = check_judge_name(body.judge)
        except InputError as exc:
            return _error(422, str(exc))
        if body.image not in images:
            return _error(404, f"no photo {body.image!r} in this plan")
        if body.song_id not in songs_of[body.image]:
            return _error(404, f"song {body.song_id!r} is not one to judge for photo {body.image!r}")
        judgment = Judgment(body.image, body.song_id, body.relevant, name)
        with lock:
            try:
                writer.append(judgment)
            except OSError as exc:
                log.error("could not save a judgment to %s: %s", writer.path, exc)
                return _error(503, f"the judgment could not be saved ({exc.strerror or exc}); try again")
            answers[(body.image, body.song_id, name)] = body.relevant
            done = judged(body.image, name)
        return JSONResponse({"saved": True, "judged": done, "songs": len(songs_of[body.image])}, headers=_HEADERS)

    return app


def serve(plan: dict[str, Any], judgments_path: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the judging page with uvicorn until interrupted (with the service's limits on slow clients)."""
    from graphrec.serve.server import run_server

    app = create_app(plan, judgments_path)
    log.info("judging page on http://%s:%d/ ; judgments go to %s", host, port, judgments_path)
    run_server(app, host=host, port=port, log_level="warning")
