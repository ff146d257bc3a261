"""Limits on what a client may upload: body bytes, content types, pixels, and how long its body may take.
Checked before decoding; the connection-level limits (headers, keep-alive, connections) are in
:mod:`graphrec.serve.server`."""

from __future__ import annotations

import asyncio
import io
import json
import time
import warnings
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
#: A request body must arrive within this many seconds in all (10 MiB at about 1.4 Mbit/s) ...
DEFAULT_BODY_TIMEOUT_S = 60.0
#: ... and without a pause longer than this: a stalled or drip-feeding client cannot hold a connection.
DEFAULT_BODY_IDLE_TIMEOUT_S = 20.0
#: Room for multipart boundaries, part headers and the small `k` field on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024

#: Accepted upload content types -> the PIL decoder allowed to open them. Decoding is restricted to
#: these decoders whatever the client claims, so rarer, less-audited decoders are never reached.
CONTENT_TYPES: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",  # not registered, but browsers and tools send it
    "image/pjpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/x-ms-bmp": "BMP",
}
FORMATS = tuple(sorted(set(CONTENT_TYPES.values())))


class ApiError(HTTPException):
    """An error the API reports as ``{"error": ..., "detail": ...}`` with ``status``.

    An HTTPException, so that FastAPI passes it through unchanged when it is raised while the body is
    being parsed (any other exception there becomes a generic 400).
    """

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.error = error

    @property
    def status(self) -> int:
        return self.status_code

    def __str__(self) -> str:
        return f"{self.status_code} {self.error}: {self.detail}"


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_k: int = 100
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    body_idle_timeout_s: float = DEFAULT_BODY_IDLE_TIMEOUT_S

    def __post_init__(self) -> None:
        for name in ("max_upload_bytes", "max_pixels", "max_k"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}.")
        for name in ("body_timeout_s", "body_idle_timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < float("inf"):
                raise ValueError(f"Limits.{name} must be a positive number of seconds, got {value!r}.")

    @property
    def max_body_bytes(self) -> int:
        return self.max_upload_bytes + MULTIPART_OVERHEAD


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "upload too large",
        f"the request body is larger than {limit} bytes; send a smaller image (at most "
        f"{limit - MULTIPART_OVERHEAD} bytes) or start the server with a larger --max-upload-mb.",
    )


def _too_slow(why: str) -> ApiError:
    return ApiError(
        408, "request timeout", f"the request body did not arrive {why}; send it again on a faster connection.",
        headers={"connection": "close"},  # the rest of the body is not read: the connection cannot be reused
    )


class BodyLimitMiddleware:
    """Rejects request bodies over ``max_body_bytes``, or slower than the timeouts, while they stream in.

    A declared Content-Length over the limit is refused without reading a byte; a chunked body is
    counted as it arrives and refused at the first byte over the limit. With timeouts, a body that
    pauses longer than ``body_idle_timeout_s`` or takes longer than ``body_timeout_s`` in all is
    answered 408 and its connection closed. Once the body is complete, reads pass through unchanged
    (the app may wait for the client to disconnect).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float | None = None,
        body_idle_timeout_s: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.body_idle_timeout_s = body_idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "bad request", "the Content-Length header is not a number.")
                    return
                if declared > self.max_body_bytes:
                    error = _too_large(self.max_body_bytes)
                    await _send_json(send, error.status, error.error, error.detail)
                    return
        received = 0
        response_started = False
        body_done = False
        deadline = None if self.body_timeout_s is None else time.monotonic() + self.body_timeout_s

        async def timed_receive() -> Message:
            if body_done or (deadline is None and self.body_idle_timeout_s is None):
                return await receive()
            wait = float("inf") if self.body_idle_timeout_s is None else self.body_idle_timeout_s
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    raise _too_slow(f"within {self.body_timeout_s:g} s")
            try:
                return await asyncio.wait_for(receive(), wait)
            except asyncio.TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise _too_slow(f"within {self.body_timeout_s:g} s") from None
                raise _too_slow(f"in time: nothing came for {self.body_idle_timeout_s:g} s") from None

        async def limited_receive() -> Message:
            nonlocal received, body_done
            message = await timed_receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    raise _too_large(self.max_body_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ApiError as error:
            # Raised from limited_receive when the app did not catch it itself (e.g. while parsing a form).
            if response_started:
                raise
            await _send_json(send, error.status, error.error, error.detail)


async def _send_json(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def check_content_type(content_type: str | None) -> str:
    """The PIL format allowed for ``content_type``; ApiError 415 for anything else."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    fmt = CONTENT_TYPES.get(base)
    if fmt is None:
        raise ApiError(
            415,
            "unsupported media type",
            f"uploads must be one of image/jpeg, image/png, image/webp, image/gif, image/bmp; got "
            f"{base or 'no content type'!r}. Convert the file to JPEG or PNG and send it with that type.",
        )
    return fmt


def open_checked(data: bytes, max_pixels: int) -> Image.Image:
    """Open ``data`` with the allowed decoders only and check its pixel count before decoding it.

    ApiError 422 when it is empty or not a JPEG/PNG/WebP/GIF/BMP image; 413 when it has more than
    ``max_pixels`` pixels (read from the header, so a decompression bomb is never decompressed).
    """
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ApiError(422, "empty image", "the uploaded file is empty; pick an image file and send it again.")
    try:
        with warnings.catch_warnings():
            # The pixel check below is ours; PIL's own hard stop (DecompressionBombError) still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:
        raise _too_many_pixels(None, max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # UnidentifiedImageError's text only names the in-memory buffer, so it is left out.
        why = "" if isinstance(exc, UnidentifiedImageError) else f" ({exc})"
        raise ApiError(
            422,
            "malformed image",
            f"the upload ({len(data)} bytes) is not a readable {'/'.join(FORMATS)} image{why}; "
            "check that the file is a complete, valid image.",
        ) from None
    width, height = image.size
    if width * height > max_pixels:
        raise _too_many_pixels((width, height), max_pixels)
    return image


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> ApiError:
    found = f"{size[0]}x{size[1]} = {size[0] * size[1]} pixels" if size else "a decompression-bomb-sized image"
    return ApiError(
        413,
        "image too large",
        f"images may have at most {max_pixels} pixels, found {found}; downscale it and send it again.",
    )
