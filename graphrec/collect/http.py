"""A polite HTTP client for public image APIs: identifies itself, paces itself, backs off, bounds downloads.

Public, key-free APIs (Wikimedia Commons, Openverse) stay free because clients behave: a User-Agent
that says who is calling and how to reach them, no more than a few requests per second per host,
waiting as long as ``Retry-After`` asks, and never pulling an unbounded body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from graphrec._http import RETRY_STATUSES, parse_retry_after, retry_wait
from graphrec._log import get_logger
from graphrec._version import __version__
from graphrec.errors import GraphrecError

log = get_logger(__name__)

__all__ = ["RETRY_STATUSES", "FetchError", "PoliteSession", "Response", "parse_retry_after", "user_agent"]

# Placeholder until the project has a public home; API operators use it to find out what is calling them.
PROJECT_URL = "https://example.org/graphrec"

FetchReason = Literal["http_error", "timeout", "too_large", "not_image"]


class FetchError(GraphrecError):
    """One request failed for good (after retries, if the failure was transient).

    ``reason`` is a stable code for summaries; ``transient`` says whether a later run may succeed.
    """

    def __init__(self, url: str, reason: FetchReason, detail: str, *, status: int | None = None, transient: bool = False):
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.reason = reason
        self.detail = detail
        self.status = status
        self.transient = transient


def user_agent(contact: str | None = None) -> str:
    """The User-Agent every request carries (Wikimedia's policy asks for a way to contact the operator)."""
    who = f"contact: {contact}" if contact else "contact: none given, see graphrec collect-images --contact"
    return f"graphrec/{__version__} (+{PROJECT_URL}; {who}) python-requests/{requests.__version__}"


@dataclass(frozen=True)
class Response:
    """What callers need from a finished request, with the body already bounded and read."""

    url: str
    status: int
    content_type: str
    body: bytes


class PoliteSession:
    """``requests.Session`` with a per-host rate limit, retries with back-off, timeouts and a size cap.

    ``sleep`` and ``clock`` are injectable so tests can check the waits without spending them.
    """

    def __init__(
        self,
        *,
        contact: str | None = None,
        rate: float = 1.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_retry_after: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests per second per host, got {rate!r}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        self.user_agent = user_agent(contact)
        self.interval = 1.0 / rate
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._clock = clock
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = self.user_agent
        self._next_slot: dict[str, float] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0
        self.waits: list[tuple[str, float]] = []  # (why, seconds): what the pacing and back-off cost

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PoliteSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pacing ---------------------------------------------------------------------------------

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > 0:
            self.waits.append((why, seconds))
            self._sleep(seconds)

    def _pace(self, url: str) -> None:
        """Reserve the next free slot for this host, then wait for it."""
        host = urlsplit(url).netloc
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.interval
        self._wait(slot - now, "rate")

    def _push_back(self, url: str, seconds: float) -> None:
        """A server asked us to hold off: no request to that host before ``seconds`` from now."""
        host = urlsplit(url).netloc
        with self._lock:
            self._next_slot[host] = max(self._next_slot.get(host, 0.0), self._clock() + seconds)

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        asked = parse_retry_after(response.headers.get("Retry-After"), now=time.time()) if response is not None else None
        if response is not None and asked is not None and asked > self.max_retry_after:
            log.warning("%s asks to retry after %.0f s; waiting %.0f s (max_retry_after)", response.url, asked, self.max_retry_after)
        return retry_wait(attempt, backoff=self.backoff, retry_after=asked, cap=self.max_retry_after)

    # -- requests -------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        max_bytes: int | None = None,
        accept: Callable[[str], bool] | None = None,
    ) -> Response:
        """GET with retries; the body is streamed and abandoned as soon as it passes ``max_bytes``.

        ``accept(content_type)`` rejects a response before its body is read (e.g. HTML where an image
        was expected), so a wrong answer costs headers, not megabytes.
        """
        last: FetchError | None = None
        for attempt in range(self.retries + 1):
            self._pace(url)
            response: requests.Response | None = None
            try:
                self.requests_sent += 1
                response = self._session.get(url, params=params, timeout=self.timeout, stream=True)
                if response.status_code in RETRY_STATUSES:
                    last = FetchError(url, "http_error", f"HTTP {response.status_code}", status=response.status_code, transient=True)
                elif response.status_code >= 400:
                    raise FetchError(url, "http_error", f"HTTP {response.status_code}", status=response.status_code)
                else:
                    return self._read(url, response, max_bytes, accept)
            except requests.Timeout as exc:
                last = FetchError(url, "timeout", f"timed out ({type(exc).__name__})", transient=True)
            except requests.ConnectionError as exc:
                # requests reports a read timeout in the middle of a streamed body as a ConnectionError.
                if "timed out" in str(exc):
                    last = FetchError(url, "timeout", "timed out while reading the body", transient=True)
                else:
                    last = FetchError(url, "http_error", f"connection failed ({type(exc).__name__})", transient=True)
            except requests.RequestException as exc:  # malformed URL, too many redirects...: retrying will not help
                raise FetchError(url, "http_error", f"{type(exc).__name__}: {exc}") from exc
            finally:
                if response is not None:
                    response.close()
            if attempt < self.retries:
                delay = self._retry_delay(attempt, response)
                log.info("%s: %s; retry %d/%d in %.1f s", url, last.detail, attempt + 1, self.retries, delay)
                self._push_back(url, delay)
        if last is None:  # unreachable: the loop runs at least once and every path that does not return sets it
            raise RuntimeError(f"no attempt was made to fetch {url}")
        raise last

    def _read(
        self, url: str, response: requests.Response, max_bytes: int | None, accept: Callable[[str], bool] | None
    ) -> Response:
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if accept is not None and not accept(content_type):
            raise FetchError(url, "not_image", f"served {content_type or 'no Content-Type'}, not an image", status=response.status_code)
        declared = response.headers.get("Content-Length")
        if max_bytes is not None and declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(url, "too_large", f"declares {int(declared)} bytes, more than the {max_bytes} allowed")
        chunks: list[bytes] = []
        size = 0
        deadline = self._clock() + self.total_timeout
        # iter_content yields decoded bytes, so a gzip bomb is measured after inflation.
        for chunk in response.iter_content(chunk_size=64 * 1024):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FetchError(url, "too_large", f"body passed the {max_bytes} bytes allowed; download abandoned")
            if self._clock() > deadline:  # a server trickling bytes would otherwise dodge the read timeout
                raise FetchError(url, "timeout", f"body took longer than {self.total_timeout:.0f} s", transient=True)
            chunks.append(chunk)
        return Response(url=response.url, status=response.status_code, content_type=content_type, body=b"".join(chunks))

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None, max_bytes: int = 32 << 20) -> Any:
        response = self.get(url, params=params, max_bytes=max_bytes)
        try:
            return json.loads(response.body.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError is a ValueError too
            raise FetchError(url, "http_error", f"answer is not JSON ({response.content_type or 'no Content-Type'}): {exc}") from exc
