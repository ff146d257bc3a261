"""The HTTP service and web page: ``create_app(model)`` returns a FastAPI app; `graphrec serve` runs it.

Endpoints (errors are JSON ``{"error": ..., "detail": ...}``):

- ``POST /recommend``: multipart ``file`` (image/jpeg, png, webp, gif or bmp) and optional ``k``
  (form field or query) -> the top-k songs with the dataset images and keywords behind each.
  Requests that arrive together share one featurizer batch (:mod:`graphrec.serve.batching`;
  ``max_batch=1`` turns that off); past ``max_queue`` waiting images the answer is 503.
- ``GET /songs/{song_id}``: title, artist, lyrics and keywords of one song.
- ``GET /images/{image_id}``: a thumbnail of one dataset image, found by id in the model's table.
- ``GET /healthz``: the model's folder name and counts, featurizer, limits, request counters (no paths).
- ``GET /`` and ``GET /static/{name}``: the web page.

Nothing a client sends becomes a filesystem path: song and image ids are dictionary keys, and the
page's three static files are read into memory at startup and served from a fixed table.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphrec._env import cpu_count
from graphrec._log import get_logger
from graphrec._version import __version__
from graphrec.errors import GraphrecError
from graphrec.serve.batching import BatcherBusy, MicroBatcher
from graphrec.serve.limits import (
    DEFAULT_BODY_IDLE_TIMEOUT_S,
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_BYTES,
    ApiError,
    BodyLimitMiddleware,
    Limits,
    check_content_type,
    open_checked,
)

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.recommender import Recommender
    from graphrec.serve.server import ServerLimits

log = get_logger(__name__)

THUMBNAIL_SIDE = 192
_STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    # The page needs nothing from another origin; blob: is the preview of the picked file.
    "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _read_static() -> dict[str, bytes]:
    folder = resources.files("graphrec.serve") / "static"
    return {name: (folder / name).read_bytes() for name in _STATIC_TYPES}


class _SecurityHeaders:
    """Adds the security headers to every response.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware wraps errors
    raised while the body streams in (the upload limit's 413) in an ExceptionGroup, which FastAPI
    would then answer with a generic 400.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in self.headers if name not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Stats:
    """Request counters and recent recommend latencies, for /healthz."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.time()
        self.status = Counter[int]()
        self.latencies: deque[float] = deque(maxlen=1000)

    def record(self, status: int, seconds: float | None = None) -> None:
        with self.lock:
            self.status[status] += 1
            if seconds is not None:
                self.latencies.append(seconds)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            recent = sorted(self.latencies)
            status = dict(self.status)

        def pct(q: float) -> float | None:
            return round(recent[min(len(recent) - 1, int(q * len(recent)))] * 1000, 2) if recent else None

        return {
            "uptime_s": round(time.time() - self.started, 1),
            "recommend_requests_by_status": {str(k): v for k, v in sorted(status.items())},
            "recommend_latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "recent": len(recent)},
        }


def create_app(
    model_or_path: Recommender | str | os.PathLike[str] | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_k: int = 100,
    max_concurrency: int | None = None,
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
    body_idle_timeout_s: float = DEFAULT_BODY_IDLE_TIMEOUT_S,
    max_batch: int = 16,
    batch_wait_ms: float = 5.0,
    max_queue: int = 64,
) -> FastAPI:
    """The service around one model, loaded here, once, and shared by every request.

    ``model_or_path`` is a :class:`~graphrec.recommender.Recommender`, a model directory, or None for the
    default model. ``max_concurrency`` bounds how many recommendations run at once (default: CPU count),
    so a burst of uploads queues instead of oversubscribing the cores. A request body must arrive within
    ``body_timeout_s`` in all, pausing at most ``body_idle_timeout_s`` (else 408); the limits on headers,
    idle connections and their number are set where the server runs it (:mod:`graphrec.serve.server`).
    Up to ``max_batch`` images that arrive within ``batch_wait_ms`` of each other are featurised as one
    batch (1: each request alone, as before micro-batching); at most ``max_queue`` wait for a batch.
    """
    limits = Limits(
        max_upload_bytes=max_upload_bytes, max_pixels=max_pixels, max_k=max_k,
        body_timeout_s=body_timeout_s, body_idle_timeout_s=body_idle_timeout_s,
    )
    if model_or_path is None or isinstance(model_or_path, str | os.PathLike):
        from graphrec.api import default_model_path, load

        # Only the folder's name is shown (/healthz): where the server keeps its files is nobody's business.
        model_name: str | None = Path(model_or_path if model_or_path is not None else default_model_path()).name
        model = load(model_or_path)
    else:
        model_name = None
        model = model_or_path
    featurizer = model.featurizer  # created now, so the first request does not pay for it
    static = _read_static()
    gate = threading.BoundedSemaphore(max_concurrency or cpu_count())
    stats = _Stats()
    batcher = None
    if max_batch > 1:
        _warm_up(model, featurizer, max_batch)
        batcher = MicroBatcher(model, featurizer, max_batch=max_batch, max_wait_s=batch_wait_ms / 1000, max_queue=max_queue)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if batcher is not None:
            batcher.stop()

    # No /docs or /redoc: FastAPI's pages load their scripts from a CDN, and this service works offline.
    # No /openapi.json either: the endpoints are documented in this module and the README.
    app = FastAPI(
        title="graphrec", version=__version__, summary="Songs for a photo", docs_url=None, redoc_url=None, openapi_url=None,
        lifespan=lifespan,
    )
    app.state.model = model
    app.state.limits = limits
    app.state.stats = stats

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {404: "not found", 405: "method not allowed", 400: "bad request"}
        return JSONResponse(
            {"error": names.get(exc.status_code, "http error"), "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "form"))
            parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return JSONResponse({"error": "invalid request", "detail": "; ".join(parts)}, status_code=422)

    def _malformed(exc: BaseException) -> ApiError:
        return ApiError(
            422, "malformed image", f"the upload could not be decoded as an image ({exc}); check that the file is complete and valid."
        )

    def _recommend_sync(data: bytes, fmt: str, k: int) -> dict[str, Any]:
        from graphrec.vision.io import load_image

        with gate:
            image = open_checked(data, limits.max_pixels)
            try:
                # Decoded from the bytes, not the lazily opened header, so a truncated body is an ImageError here.
                rgb = load_image(data, max_pixels=limits.max_pixels)
                recs = model.recommend(rgb, k=k)
            except (GraphrecError, OSError, ValueError) as exc:
                raise _malformed(exc) from None
        return {"k": k, "declared_format": fmt, "image_size": list(image.size), **recs.to_dict()}

    def _prepare_sync(data: bytes) -> tuple[Any, tuple[int, int]]:
        """Decode and prepare one upload for the batcher (``featurizer.load``), in a worker thread."""
        from graphrec.vision.io import load_image

        with gate:
            image = open_checked(data, limits.max_pixels)
            try:
                return featurizer.load(load_image(data, max_pixels=limits.max_pixels)), image.size
            except (GraphrecError, OSError, ValueError) as exc:
                raise _malformed(exc) from None

    async def _recommend_batched(data: bytes, fmt: str, k: int) -> dict[str, Any]:
        assert batcher is not None
        item, size = await run_in_threadpool(_prepare_sync, data)
        try:
            future = batcher.submit(item, k)
        except BatcherBusy as exc:
            raise ApiError(503, "busy", f"the service is at capacity ({exc}); retry in a moment.", headers={"retry-after": "1"}) from None
        try:
            recs = await asyncio.wrap_future(future)
        except (GraphrecError, OSError, ValueError) as exc:
            raise _malformed(exc) from None
        return {"k": k, "declared_format": fmt, "image_size": list(size), **recs.to_dict()}

    @app.post("/recommend")
    async def recommend(
        file: UploadFile = File(..., description="the photo"),
        k_form: int | None = Form(None, alias="k"),
        k_query: int | None = Query(None, alias="k"),
    ) -> JSONResponse:
        started = time.perf_counter()
        try:
            k = k_form if k_form is not None else k_query if k_query is not None else model.config.recommend.k
            if not 1 <= k <= limits.max_k:
                raise ApiError(422, "invalid k", f"k must be between 1 and {limits.max_k}, got {k}.")
            fmt = check_content_type(file.content_type)
            data = bytearray()
            while chunk := await file.read(1 << 16):
                data += chunk
                if len(data) > limits.max_upload_bytes:
                    raise ApiError(
                        413, "upload too large",
                        f"images may be at most {limits.max_upload_bytes} bytes; send a smaller one.",
                    )
            if batcher is None:
                body = await run_in_threadpool(_recommend_sync, bytes(data), fmt, k)
            else:
                body = await _recommend_batched(bytes(data), fmt, k)
        except ApiError as exc:
            stats.record(exc.status)
            raise
        stats.record(200, time.perf_counter() - started)
        return JSONResponse(body)

    @app.get("/songs/{song_id:path}")
    def song(song_id: str) -> dict[str, Any]:
        try:
            record = model.song(song_id)
            keywords = model.song_keyword_list(song_id)
        except KeyError:
            raise ApiError(404, "unknown song", f"this model has no song with id {song_id!r}.") from None
        return {
            "id": record.id,
            "title": record.title,
            "artist": record.artist,
            "lyrics": record.lyrics,
            "keywords": keywords,
            "source": record.source,
            "popularity": record.popularity,
        }

    @lru_cache(maxsize=2048)
    def _thumbnail(image_id: str) -> tuple[bytes, str] | None:
        from PIL import Image, ImageOps

        path = model.image_path(image_id)  # KeyError for an unknown id: the caller answers 404
        try:
            with Image.open(path) as opened:
                image = ImageOps.exif_transpose(opened)
                image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                buffer = io.BytesIO()
                if image.mode in ("RGBA", "LA", "P"):
                    image.convert("RGBA").save(buffer, "PNG", optimize=True)
                    return buffer.getvalue(), "image/png"
                image.convert("RGB").save(buffer, "JPEG", quality=85)
                return buffer.getvalue(), "image/jpeg"
        except (OSError, ValueError) as exc:
            log.warning("cannot make a thumbnail of dataset image %s (%s): %s", image_id, path, exc)
            return None

    @app.get("/images/{image_id:path}")
    def image(image_id: str) -> Response:
        try:
            thumb = _thumbnail(image_id)
        except KeyError:
            raise ApiError(404, "unknown image", f"this model has no image with id {image_id!r}.") from None
        if thumb is None:
            raise ApiError(404, "image file missing", f"the file of dataset image {image_id!r} cannot be read on the server.")
        data, media_type = thumb
        return Response(data, media_type=media_type, headers={"cache-control": "public, max-age=86400"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "graphrec_version": __version__,
            "model": {
                "name": model_name,
                "songs": len(model.song_ids_),
                "images": len(model.image_ids_),
                "keywords": len(model.vocabulary_),
                "default_k": model.config.recommend.k,
            },
            "featurizer": {"name": model.featurizer_name, "dim": int(featurizer.dim)},
            "limits": {
                "max_upload_bytes": limits.max_upload_bytes,
                "max_pixels": limits.max_pixels,
                "max_k": limits.max_k,
                "content_types": ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp"],
            },
            "stats": stats.snapshot(),
            "batching": batcher.stats() if batcher is not None else {"max_batch": 1},
        }

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(static["index.html"], media_type=_STATIC_TYPES["index.html"])

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        data = static.get(name)  # a fixed table: the name is a key, never part of a path
        if data is None:
            raise ApiError(404, "not found", f"no static file {name!r}.")
        return Response(data, media_type=_STATIC_TYPES[name], headers={"cache-control": "no-cache"})

    app.add_middleware(_SecurityHeaders)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=limits.max_body_bytes,
        body_timeout_s=limits.body_timeout_s, body_idle_timeout_s=limits.body_idle_timeout_s,
    )
    log.info(
        "serving model (%d songs, %d images, featurizer %s)", len(model.song_ids_), len(model.image_ids_),
        model.featurizer_name,
    )
    return app


def _warm_up(model: Any, featurizer: Any, batch: int) -> None:
    """One full batch through the featurizer and the recommender before the first request, so the first
    requests do not pay for the runtime's first allocations (they set the service's p99 otherwise)."""
    from PIL import Image

    try:
        item = featurizer.load(Image.new("RGB", (256, 256), (128, 128, 128)))
        model.recommend_features(featurizer.compute([item] * batch), 1)
    except Exception as exc:  # noqa: BLE001 - a warm-up that fails only costs the first requests time
        log.warning("warm-up batch failed (%s: %s); the first requests will be slower", type(exc).__name__, exc)


def serve(
    model_or_path: Recommender | str | os.PathLike[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    log_level: str = "info",
    limits: ServerLimits | None = None,
    max_batch: int = 16,
    batch_wait_ms: float = 5.0,
) -> None:
    """Run the service with uvicorn until interrupted; ``limits`` bound connections and slow clients."""
    from graphrec.serve.server import run_server

    app = create_app(model_or_path, max_upload_bytes=max_upload_bytes, max_pixels=max_pixels, max_batch=max_batch, batch_wait_ms=batch_wait_ms)
    run_server(app, host=host, port=port, limits=limits, log_level=log_level)


__all__ = ["create_app", "serve", "Limits", "ApiError"]
