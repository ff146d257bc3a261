"""Clients for public, key-free image search APIs: Wikimedia Commons and Openverse.

Each source turns a query into a lazy stream of :class:`ImageHit` in search-rank order, asking
for the next page only when the caller wants more. The JSON getter is injected, so the collector
can put a cache in front of it and tests can point ``endpoint`` at a local server.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Literal, Protocol

from graphrec._log import get_logger
from graphrec.collect.http import FetchError

log = get_logger(__name__)

SourceName = Literal["commons", "openverse"]
GetJson = Callable[[str, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class ImageHit:
    """One search result, with what the manifest needs to credit it."""

    download_url: str  # what is fetched: a thumbnail where the API offers one
    source_url: str  # the human-readable page that states the licence and author
    licence: str
    author: str
    title: str = ""
    mime: str = ""  # of the original file as the API reports it ("" when unknown)
    licence_url: str = ""


class ImageSource(Protocol):
    name: str
    endpoint: str

    def search(self, query: str) -> Iterator[ImageHit]: ...


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(value: str) -> str:
    """Commons' ``Artist`` is an HTML fragment (links to user pages); a manifest wants plain text."""
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    return re.sub(r"\s+", " ", html.unescape("".join(parser.parts))).strip()


class CommonsSource:
    """Wikimedia Commons through the MediaWiki API.

    One call per page: ``generator=search`` over the File namespace (6) with ``prop=imageinfo``, so
    each page of results already carries the thumbnail URL, MIME type and licence metadata.
    """

    name = "commons"
    DEFAULT_ENDPOINT = "https://commons.wikimedia.org/w/api.php"

    def __init__(self, get_json: GetJson, *, endpoint: str | None = None, thumb_size: int = 320, page_size: int = 50) -> None:
        self.get_json = get_json
        self.endpoint = endpoint or self.DEFAULT_ENDPOINT
        self.thumb_size = thumb_size
        self.page_size = min(page_size, 50)  # the API's limit for clients without the apihighlimits right

    def search(self, query: str) -> Iterator[ImageHit]:
        params: dict[str, Any] = {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "generator": "search",
            "gsrsearch": query,
            "gsrnamespace": "6",
            "gsrlimit": str(self.page_size),
            "prop": "imageinfo",
            "iiprop": "url|sha1|mime|size|extmetadata",
            "iiurlwidth": str(self.thumb_size),
            "iiextmetadatafilter": "LicenseShortName|LicenseUrl|Artist|ObjectName",
        }
        while True:
            answer = self.get_json(self.endpoint, params)
            if not isinstance(answer, dict):
                raise FetchError(self.endpoint, "http_error", f"expected a JSON object from the MediaWiki API, got {type(answer).__name__}")
            if "error" in answer:
                error = answer["error"] if isinstance(answer["error"], dict) else {}
                raise FetchError(self.endpoint, "http_error", f"API error {error.get('code', '?')}: {error.get('info', answer['error'])}")
            pages = (answer.get("query") or {}).get("pages") or []
            if isinstance(pages, dict):  # formatversion=1 servers answer with a dict keyed by page id
                pages = list(pages.values())
            # A generator's pages come back in page-id order; "index" is the search rank.
            for page in sorted(pages, key=lambda p: p.get("index", 0)):
                hit = self._hit(page)
                if hit is not None:
                    yield hit
            more = answer.get("continue")
            if not more or not pages:
                return
            params = {**params, **{k: str(v) for k, v in more.items()}}

    def _hit(self, page: Mapping[str, Any]) -> ImageHit | None:
        infos = page.get("imageinfo") or []
        if not infos:
            return None  # a file page whose file is missing or hidden
        info = infos[0]
        meta = info.get("extmetadata") or {}

        def field(name: str) -> str:
            value = (meta.get(name) or {}).get("value", "")
            return strip_html(str(value)) if value else ""

        url = info.get("thumburl") or info.get("url")
        if not url:
            return None
        title = str(page.get("title", ""))
        return ImageHit(
            download_url=str(url),
            source_url=str(info.get("descriptionurl") or ""),
            licence=field("LicenseShortName"),
            author=field("Artist"),
            title=title.removeprefix("File:"),
            mime=str(info.get("mime") or ""),
            licence_url=field("LicenseUrl"),
        )


def openverse_licence(code: str, version: str) -> str:
    """``("by-sa", "2.0")`` -> ``"CC BY-SA 2.0"``, the way Commons spells licences too."""
    code = (code or "").strip().lower()
    if not code:
        return ""
    if code == "cc0":
        return f"CC0 {version or '1.0'}"
    if code == "pdm":
        return f"Public Domain Mark {version or '1.0'}"
    if code.startswith(("by", "nc", "sa", "nd")):
        return f"CC {code.upper()} {version}".strip()
    return f"{code} {version}".strip()


class OpenverseSource:
    """Openverse (``/v1/images/``): openly licensed images aggregated from many collections."""

    name = "openverse"
    DEFAULT_ENDPOINT = "https://api.openverse.org/v1/images/"

    def __init__(self, get_json: GetJson, *, endpoint: str | None = None, page_size: int = 20, licence_type: str | None = None) -> None:
        self.get_json = get_json
        self.endpoint = endpoint or self.DEFAULT_ENDPOINT
        self.page_size = min(page_size, 20)  # anonymous clients may ask for at most 20 per page
        self.licence_type = licence_type

    def search(self, query: str) -> Iterator[ImageHit]:
        page = 1
        while True:
            params: dict[str, Any] = {"q": query, "page_size": str(self.page_size), "page": str(page)}
            if self.licence_type:
                params["license_type"] = self.licence_type
            try:
                answer = self.get_json(self.endpoint, params)
            except FetchError as exc:
                # Anonymous clients may only page so deep; past that the API answers 4xx. What came before stands.
                if page > 1 and not exc.transient:
                    log.warning("Openverse stopped answering %r at page %d (%s); keeping the %d pages before it", query, page, exc.detail, page - 1)
                    return
                raise
            if not isinstance(answer, dict):
                raise FetchError(self.endpoint, "http_error", f"expected a JSON object from Openverse, got {type(answer).__name__}")
            results = answer.get("results") or []
            for item in results:
                url = item.get("thumbnail") or item.get("url")
                if not url:
                    continue
                filetype = str(item.get("filetype") or "")
                yield ImageHit(
                    download_url=str(url),
                    source_url=str(item.get("foreign_landing_url") or item.get("url") or ""),
                    licence=openverse_licence(str(item.get("license") or ""), str(item.get("license_version") or "")),
                    author=str(item.get("creator") or "").strip(),
                    title=str(item.get("title") or ""),
                    mime=f"image/{filetype}" if filetype and "/" not in filetype else filetype,
                    licence_url=str(item.get("license_url") or ""),
                )
            page_count = int(answer.get("page_count") or 0)
            if not results or page >= page_count:
                return
            page += 1


def make_source(
    name: SourceName, get_json: GetJson, *, endpoint: str | None = None, thumb_size: int = 320, licence_type: str | None = None
) -> ImageSource:
    if name == "commons":
        return CommonsSource(get_json, endpoint=endpoint, thumb_size=thumb_size)
    if name == "openverse":
        return OpenverseSource(get_json, endpoint=endpoint, licence_type=licence_type)
    raise ValueError(f"image source {name!r} is not known; expected 'commons' or 'openverse'")
