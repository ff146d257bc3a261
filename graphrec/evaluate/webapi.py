"""Related words from the ConceptNet web API's ``/related`` endpoint, cached on disk.

``GET {base_url}/related/c/{lang}/{word}?filter=/c/{lang}&limit=L`` answers
``{"related": [{"@id": "/c/zh/雪花", "weight": 0.87}, ...]}``. Answers are cached one JSON file per
request (written atomically), so an evaluation re-run needs no network. Transient failures
(timeouts, dropped connections, HTTP 429 and 5xx, a body that is not the expected JSON) are retried
with exponential back-off; when every try fails, :class:`BackendUnavailableError` says what happened
and what to use instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from graphrec._env import cache_dir as graphrec_cache_dir
from graphrec._http import RETRY_STATUSES, parse_retry_after, retry_wait
from graphrec._io import atomic_write_json
from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError, InputError
from graphrec.evaluate.related_base import check_n

log = get_logger(__name__)

DEFAULT_BASE_URL = "https://api.conceptnet.io"
_CACHE_VERSION = 1
_MAX_RETRY_AFTER_S = 60.0


class _Retryable(Exception):
    """One failed try that is worth repeating."""


class ConceptNetWebRelated:
    """``top_n(word, n)`` from ConceptNet's ``/related`` endpoint.

    ``timeout`` is seconds per try (connect and read); ``retries`` is how many tries follow the first;
    the k-th retry waits ``backoff * 2**(k-1)`` seconds (or the server's Retry-After, capped at 60 s).
    ``limit`` is how many related words one request asks for; larger ``n`` asks for ``n``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        language: str = "zh",
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        limit: int = 100,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://, got {base_url!r}.")
        if not timeout > 0:
            raise InputError(f"timeout must be > 0 seconds, got {timeout!r}.")
        if not isinstance(retries, int) or retries < 0:
            raise InputError(f"retries must be a non-negative integer, got {retries!r}.")
        if not backoff >= 0:
            raise InputError(f"backoff must be >= 0 seconds, got {backoff!r}.")
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.cache_dir = Path(cache_dir) if cache_dir is not None else graphrec_cache_dir("conceptnet-web")
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.limit = max(1, int(limit))
        self._sleep = sleep
        self._session: Any = None
        self.requests_made = 0  # network requests actually sent (the cache answers the rest)
        self.name = f"conceptnet-web:{self.base_url}"

    # ------------------------------------------------------------------ public

    def top_n(self, word: str, n: int) -> list[tuple[str, float]]:
        n = check_n(n)
        if n == 0:
            return []
        limit = max(self.limit, n)
        cached = self._read_cache(word)
        # A cached answer serves any n up to what it asked for, and any n at all if the server had fewer.
        if cached is not None and (cached["limit"] >= n or len(cached["related"]) < cached["limit"]):
            return [(w, float(s)) for w, s in cached["related"][:n]]
        related = self._fetch(word, limit)
        self._write_cache(word, limit, related)
        return related[:n]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "language": self.language,
            "cache_dir": str(self.cache_dir),
            "limit": self.limit,
        }

    # ------------------------------------------------------------------ network

    def url_for(self, word: str) -> str:
        term = word.strip().lower().replace(" ", "_")
        return f"{self.base_url}/related/c/{self.language}/{quote(term, safe='')}"

    def _fetch(self, word: str, limit: int) -> list[tuple[str, float]]:
        import requests

        if self._session is None:
            self._session = requests.Session()
            self._session.headers["User-Agent"] = "graphrec-evaluate"
        url = self.url_for(word)
        params = {"filter": f"/c/{self.language}", "limit": str(limit)}
        last = "no try made"
        for attempt in range(self.retries + 1):
            try:
                return self._try_once(url, params, word)
            except _Retryable as exc:
                last, retry_after = exc.args[0], exc.args[1]
                if attempt == self.retries:
                    break
                wait = retry_wait(attempt, backoff=self.backoff, retry_after=retry_after, cap=_MAX_RETRY_AFTER_S)
                log.warning("ConceptNet web API: %s for %r (try %d of %d); retrying in %.2f s",
                            last, word, attempt + 1, self.retries + 1, wait)
                self._sleep(wait)
        raise BackendUnavailableError(
            f"the ConceptNet web API at {self.base_url} gave no usable answer for {word!r} after "
            f"{self.retries + 1} tries (last: {last}); check the network connection or base_url, try again later, "
            "or use an offline related-words backend (`cilin`, or `conceptnet-lite` with a local database)."
        )

    def _try_once(self, url: str, params: dict[str, str], word: str) -> list[tuple[str, float]]:
        import requests

        self.requests_made += 1
        try:
            response = self._session.get(url, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise _Retryable(f"no answer within {self.timeout:g} s", None) from None
        except requests.ConnectionError as exc:
            raise _Retryable(f"cannot connect ({type(exc).__name__})", None) from None
        status = response.status_code
        if status in RETRY_STATUSES or status >= 500:
            raise _Retryable(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After"), now=time.time()))
        if status == 404:  # ConceptNet does not know the term: no related words, not an outage
            return []
        if status >= 400:
            raise BackendUnavailableError(
                f"the ConceptNet web API refused {response.url} with HTTP {status}; check base_url "
                f"({self.base_url}) and the language code ({self.language!r})."
            )
        try:
            payload = response.json()
        except ValueError:
            raise _Retryable("the answer was not valid JSON", None) from None
        return self._parse(payload, word)

    def _parse(self, payload: Any, word: str) -> list[tuple[str, float]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("related"), list):
            raise _Retryable("the answer was JSON without a 'related' list", None)
        best: dict[str, float] = {}
        for item in payload["related"]:
            if not isinstance(item, dict):
                continue
            uri, weight = item.get("@id"), item.get("weight")
            if not isinstance(uri, str) or not isinstance(weight, int | float):
                continue
            parts = uri.split("/")  # "", "c", lang, term[, pos, ...]
            if len(parts) < 4 or parts[1] != "c" or parts[2] != self.language:
                continue
            other = parts[3].replace("_", " ")
            if other and other != word and float(weight) > best.get(other, float("-inf")):
                best[other] = float(weight)
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))

    # ------------------------------------------------------------------ cache

    def _cache_path(self, word: str) -> Path:
        key = json.dumps([_CACHE_VERSION, self.base_url, self.language, word], ensure_ascii=False)
        return self.cache_dir / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}.json"

    def _read_cache(self, word: str) -> dict[str, Any] | None:
        path = self._cache_path(word)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cache file %s (%s); it will be fetched again", path, exc)
            return None
        if (
            not isinstance(entry, dict)
            or entry.get("word") != word
            or not isinstance(entry.get("limit"), int)
            or not isinstance(entry.get("related"), list)
        ):
            log.warning("ignoring cache file %s: not an answer for %r", path, word)
            return None
        return entry

    def _write_cache(self, word: str, limit: int, related: list[tuple[str, float]]) -> None:
        entry = {
            "version": _CACHE_VERSION,
            "base_url": self.base_url,
            "language": self.language,
            "word": word,
            "limit": limit,
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "related": [[w, s] for w, s in related],
        }
        try:
            atomic_write_json(self._cache_path(word), entry)
        except OSError as exc:  # a read-only cache costs speed, not correctness
            log.warning("could not write the ConceptNet cache in %s (%s)", self.cache_dir, exc)
