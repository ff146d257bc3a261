"""`collect_images`: keyword-labelled thumbnails from a public image API, resumable, with a manifest.

For each keyword: search (in the requested languages, results interleaved), then walk the
candidates in rank order, downloading until ``per_keyword`` are kept or the candidates run out.
Every find is appended to ``journal.csv`` at once and fsynced (one row per image–keyword pair);
everything rejected to ``rejected.csv``; search answers are cached under ``.cache/``. A re-run
therefore downloads only what is missing and repeats no request whose answer it already has.
``manifest.csv`` (one row per image, all its keywords and weights, the DESIGN.md format) is
rebuilt from the journal atomically after every keyword and at the end, so it is always whole.

Weight: a candidate at 0-based rank r gets ``1 / (1 + r / per_keyword)``: 1.0 for the top hit,
0.5 at rank ``per_keyword``, never 0, and the same for a keyword however many images it ends with.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal

from graphrec._io import atomic_write_json, sha256_bytes
from graphrec._log import get_logger, progress
from graphrec.collect.download import LOSSLESS_TYPES, accept_content_type, decode, is_image_mime, save_thumbnail
from graphrec.collect.http import FetchError, PoliteSession
from graphrec.collect.manifest import JOURNAL_COLUMNS, REJECT_COLUMNS, AppendLog, clean_field, read_log, rewrite_log, write_manifest
from graphrec.collect.sources import ImageHit, ImageSource, SourceName, make_source
from graphrec.collect.translate import LANGS, queries_for
from graphrec.errors import BackendUnavailableError, ImageError, InputError, describe_path

log = get_logger(__name__)

MANIFEST_NAME = "manifest.csv"  # one row per image: what `graphrec build --images` reads
JOURNAL_NAME = "journal.csv"  # one row per (image, keyword) find, fsynced as it happens: the resume state
REJECTED_NAME = "rejected.csv"
SUMMARY_NAME = "summary.json"
SEARCH_CACHE = ".cache/search"

Reason = Literal["too_large", "not_image", "duplicate", "http_error", "decode_error"]
REASONS: tuple[Reason, ...] = ("too_large", "not_image", "duplicate", "http_error", "decode_error")


@dataclass(frozen=True)
class CollectConfig:
    """How to collect. Validated on construction; every field has a polite default."""

    per_keyword: int = 100
    source: SourceName = "commons"
    endpoint: str | None = None  # the search API's URL; None = the public service
    langs: tuple[str, ...] = ("en",)  # "zh": the keyword as written; "en": its gloss from the zh→en table
    thumb_size: int = 320  # longest side of the saved thumbnail, px
    max_bytes: int = 10 * 2**20  # a download past this is abandoned
    max_pixels: int = 40_000_000  # decoded size limit (decompression bombs)
    rate: float = 1.0  # requests per second per host
    contact: str | None = None  # put in the User-Agent so API operators can reach you
    licence_type: str | None = None  # Openverse license_type filter, e.g. "commercial"; None = any
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0  # first retry wait, doubled each time, unless Retry-After says otherwise
    candidates_per_keyword: float = 3.0  # look at most this many times per_keyword candidates
    max_downloads: int | None = None  # stop the whole run after this many downloads (budget; tests)

    def __post_init__(self) -> None:
        def need(ok: bool, what: str, value: object, fix: str) -> None:
            if not ok:
                raise InputError(f"collect-images: {what} must be {fix}, got {value!r}")

        need(isinstance(self.per_keyword, int) and self.per_keyword >= 1, "per_keyword", self.per_keyword, "an integer >= 1")
        need(self.source in ("commons", "openverse"), "source", self.source, "'commons' or 'openverse'")
        need(bool(self.langs) and all(lang in LANGS for lang in self.langs), "langs", self.langs, f"a non-empty subset of {LANGS}")
        need(16 <= self.thumb_size <= 4096, "thumb_size", self.thumb_size, "between 16 and 4096 pixels")
        need(self.max_bytes >= 1024, "max_bytes", self.max_bytes, "at least 1024 bytes")
        need(self.max_pixels >= 1, "max_pixels", self.max_pixels, ">= 1")
        need(self.rate > 0, "rate", self.rate, "> 0 requests per second")
        need(self.connect_timeout > 0 and self.read_timeout > 0, "timeouts", (self.connect_timeout, self.read_timeout), "> 0 seconds")
        need(self.retries >= 0, "retries", self.retries, ">= 0")
        need(self.backoff >= 0, "backoff", self.backoff, ">= 0 seconds")
        need(self.candidates_per_keyword >= 1, "candidates_per_keyword", self.candidates_per_keyword, ">= 1")
        need(self.max_downloads is None or self.max_downloads >= 0, "max_downloads", self.max_downloads, "None or >= 0")
        if self.endpoint is not None:
            need(self.endpoint.startswith(("http://", "https://")), "endpoint", self.endpoint, "an http(s) URL")
        if self.contact is not None:
            need("\n" not in self.contact and "\r" not in self.contact, "contact", self.contact, "one line")


@dataclass
class KeywordSummary:
    keyword: str
    queries: list[str]
    found: int = 0  # candidates examined in this run
    kept: int = 0  # manifest rows for this keyword after the run
    new: int = 0  # downloaded and saved in this run
    shared: int = 0  # kept without a new file: same URL or same bytes as an image kept for another keyword
    already: int = 0  # rows from earlier runs
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    search_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CollectSummary:
    out_dir: str
    manifest: str
    source: str
    endpoint: str
    per_keyword: int
    keywords: dict[str, KeywordSummary]
    requests: int = 0  # HTTP requests sent in this run (searches answered from the cache are not sent)
    downloads: int = 0  # image downloads attempted in this run
    torn_lines_dropped: int = 0
    stopped_early: bool = False  # max_downloads reached
    interrupted: bool = False

    @property
    def totals(self) -> dict[str, Any]:
        rejected = Counter[str]()
        for item in self.keywords.values():
            rejected.update(item.rejected)
        return {
            "found": sum(k.found for k in self.keywords.values()),
            "kept": sum(k.kept for k in self.keywords.values()),
            "new": sum(k.new for k in self.keywords.values()),
            "shared": sum(k.shared for k in self.keywords.values()),
            "already": sum(k.already for k in self.keywords.values()),
            "rejected": {reason: rejected[reason] for reason in REASONS},
            "search_errors": sum(1 for k in self.keywords.values() if k.search_error),
        }

    def format_table(self) -> str:
        """A plain-text table, one line per keyword, for the CLI to print."""
        head = ["keyword", "found", "kept", "new", "shared", "already", *REASONS]
        rows: list[list[Any]] = [
            [k.keyword, k.found, k.kept, k.new, k.shared, k.already, *(k.rejected[r] for r in REASONS)] for k in self.keywords.values()
        ]
        totals = self.totals
        rows.append(["(total)", totals["found"], totals["kept"], totals["new"], totals["shared"], totals["already"], *totals["rejected"].values()])
        # Chinese characters take two columns in a terminal.
        def width(text: object) -> int:
            return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(text))

        widths = [max(width(row[i]) for row in [head, *rows]) for i in range(len(head))]
        lines = []
        for row in [head, *rows]:
            cells = [str(v) + " " * (widths[i] - width(v)) if i == 0 else " " * (widths[i] - width(v)) + str(v) for i, v in enumerate(row)]
            lines.append("  ".join(cells))
        notes = [f"search failed for {k.keyword!r}: {k.search_error}" for k in self.keywords.values() if k.search_error]
        if self.torn_lines_dropped:
            notes.append(f"dropped {self.torn_lines_dropped} torn line(s) left by an interrupted run")
        if self.stopped_early:
            notes.append("stopped early: the download budget (max_downloads) ran out; run again to continue")
        notes.append(f"{self.requests} HTTP requests; manifest: {self.manifest}")
        return "\n".join(lines + notes)

    def to_dict(self) -> dict[str, Any]:
        data = {name: value for name, value in asdict(self).items() if name != "keywords"}
        data["keywords"] = [item.to_dict() for item in self.keywords.values()]
        data["totals"] = self.totals
        return data


def read_keywords(path: str | os.PathLike[str]) -> list[str]:
    """Keywords from a UTF-8 text file: one per line, ``#`` starts a comment, blank lines and repeats ignored."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"keyword file {describe_path(path)} does not exist; give a UTF-8 text file with one keyword per line.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"keyword file {describe_path(path)} is not UTF-8: byte {exc.start} (line {bad_line}) is {data[exc.start:exc.start + 1]!r}; "
            f"save it as UTF-8 (e.g. iconv -f GB18030 -t UTF-8)."
        ) from None
    keywords: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        if "|" in word:
            raise InputError(f"keyword file {describe_path(path)} line {number}: {word!r} contains '|', which separates keywords in the manifest; remove it.")
        if word in keywords:
            log.warning("keyword file %s line %d: %r repeats an earlier line; ignored", path, number, word)
            continue
        keywords.append(word)
    if not keywords:
        raise InputError(f"keyword file {describe_path(path)} lists no keywords; put one keyword per line (lines starting with # are comments).")
    return keywords


def rank_weight(rank: int, per_keyword: int) -> float:
    """Image–keyword weight from a 0-based search rank: 1 at the top, 1/2 at rank ``per_keyword``, in (0, 1]."""
    return 1.0 / (1.0 + rank / per_keyword)


class _CachedJson:
    """Search answers stored under ``.cache/search``: a re-run asks the API nothing it asked before."""

    def __init__(self, http: PoliteSession, directory: Path) -> None:
        self.http = http
        self.directory = directory
        self.hits = 0

    def __call__(self, url: str, params: Mapping[str, Any]) -> Any:
        key = hashlib.sha256(json.dumps([url, sorted(params.items())], ensure_ascii=False).encode()).hexdigest()
        path = self.directory / key[:2] / f"{key}.json"
        if path.exists():
            try:
                answer = json.loads(path.read_text(encoding="utf-8"))
                self.hits += 1
                return answer
            except (OSError, ValueError):
                log.warning("search cache %s is unreadable; asking the API again", path)
        answer = self.http.get_json(url, params=params)
        atomic_write_json(path, answer)
        return answer


def _interleave(streams: Sequence[tuple[str, Iterator[ImageHit]]], errors: list[str]) -> Iterator[tuple[str, ImageHit]]:
    """Round-robin over the queries' result streams, each URL once; a failing stream ends, the others go on."""
    seen: set[str] = set()

    def guarded(query: str, stream: Iterator[ImageHit]) -> Iterator[tuple[str, ImageHit]]:
        try:
            for hit in stream:
                yield query, hit
        except FetchError as exc:
            errors.append(f"search {query!r}: {exc.detail}")
            log.warning("search for %r failed: %s", query, exc)

    guarded_streams = [guarded(query, stream) for query, stream in streams]
    for group in zip_longest(*guarded_streams):
        for item in group:
            if item is not None and item[1].download_url not in seen:
                seen.add(item[1].download_url)
                yield item


@dataclass
class _Image:
    relpath: str
    sha256: str
    source_sha256: str


class _Collector:
    def __init__(self, out_dir: Path, config: CollectConfig, http: PoliteSession, source: ImageSource, summary: CollectSummary) -> None:
        self.out_dir = out_dir
        self.config = config
        self.http = http
        self.source = source
        self.summary = summary
        self.by_url: dict[str, _Image] = {}
        self.by_sha: dict[str, _Image] = {}
        self.kw_urls: dict[str, set[str]] = {}
        self.kw_shas: dict[str, set[str]] = {}
        self.failed_urls: dict[str, tuple[Reason, str]] = {}  # permanent failures: the URL itself is bad
        self.kw_duplicates: set[tuple[str, str]] = set()  # (keyword, url) whose bytes the keyword already has
        self.finds: list[dict[str, str]] = []  # the journal's rows, for rebuilding manifest.csv
        self._inner: Any = progress(total=0, show_progress=False)  # the current keyword's bar

    def load_previous(self) -> None:
        journal = read_log(self.out_dir / JOURNAL_NAME, JOURNAL_COLUMNS)
        rejected = read_log(self.out_dir / REJECTED_NAME, REJECT_COLUMNS)
        self.summary.torn_lines_dropped = len(journal.dropped) + len(rejected.dropped)
        present = [row for row in journal.rows if (self.out_dir / row["path"]).is_file()]
        if len(present) < len(journal.rows):
            gone = sorted({row["path"] for row in journal.rows} - {row["path"] for row in present})
            log.warning("%d files listed in %s are gone (e.g. %s); forgetting their rows so they are fetched again", len(gone), JOURNAL_NAME, gone[0])
            rewrite_log(self.out_dir / JOURNAL_NAME, JOURNAL_COLUMNS, present)
        self.finds = present
        for row in present:
            image = self.by_sha.get(row["source_sha256"]) or _Image(row["path"], row["sha256"], row["source_sha256"])
            self.by_sha[image.source_sha256] = image
            self.by_url[row["download_url"]] = image
            self.kw_urls.setdefault(row["keywords"], set()).add(row["download_url"])
            self.kw_shas.setdefault(row["keywords"], set()).add(image.source_sha256)
        for row in rejected.rows:
            if row["reason"] == "duplicate":
                self.kw_duplicates.add((row["keyword"], row["download_url"]))
            elif row["retry"] != "yes" and row["reason"] in REASONS:
                self.failed_urls[row["download_url"]] = (row["reason"], row["detail"])

    def write_manifest(self) -> None:
        write_manifest(self.out_dir / MANIFEST_NAME, self.finds)

    def run(self, keywords: Sequence[str], journal: AppendLog, rejected: AppendLog, show_progress: bool | None) -> None:
        bar = progress(keywords, show_progress=show_progress, desc="collect-images", unit="keyword", leave=True)
        for keyword in bar:
            bar.set_postfix_str(keyword)
            # A keyword takes minutes at a polite rate; an inner bar shows it is moving.
            with progress(total=self.config.per_keyword, show_progress=show_progress, desc=keyword, unit="img") as inner:
                self._inner = inner
                done = self._keyword(keyword, journal, rejected)
            if self.summary.keywords[keyword].new or self.summary.keywords[keyword].shared:
                self.write_manifest()
            if not done:
                self.summary.stopped_early = True
                log.warning("stopping: max_downloads=%d reached; run again to continue", self.config.max_downloads)
                break

    def _reject(self, rejected: AppendLog, item: KeywordSummary, reason: Reason, hit: ImageHit, query: str, rank: int, detail: str, retry: bool) -> None:
        item.rejected[reason] += 1
        log.info("rejected %s for %r: %s (%s)", hit.download_url, item.keyword, reason, detail)
        rejected.append(
            {
                "keyword": item.keyword,
                "download_url": hit.download_url,
                "reason": reason,
                "detail": detail,
                "retry": "yes" if retry else "no",
                "source_url": hit.source_url,
                "query": query,
                "rank": rank,
                "fetched_at": _now(),
            }
        )

    def _keep(self, journal: AppendLog, item: KeywordSummary, image: _Image, hit: ImageHit, query: str, rank: int) -> None:
        row = {
            "path": image.relpath,
            "keywords": item.keyword,
            "weight": f"{rank_weight(rank, self.config.per_keyword):.9g}",
            "source_url": hit.source_url,
            "licence": hit.licence,
            "author": hit.author,
            "sha256": image.sha256,
            "source_sha256": image.source_sha256,
            "download_url": hit.download_url,
            "source": self.source.name,
            "query": query,
            "rank": rank,
            "title": hit.title,
            "licence_url": hit.licence_url,
            "fetched_at": _now(),
        }
        journal.append(row)
        self.finds.append({name: clean_field(value) for name, value in row.items()})  # as the journal stores it
        self.by_url[hit.download_url] = image
        self.by_sha[image.source_sha256] = image
        self.kw_urls.setdefault(item.keyword, set()).add(hit.download_url)
        self.kw_shas.setdefault(item.keyword, set()).add(image.source_sha256)
        item.kept += 1
        self._inner.update(1)

    def _keyword(self, keyword: str, journal: AppendLog, rejected: AppendLog) -> bool:
        """Collect one keyword; False when the download budget ran out."""
        config = self.config
        item = self.summary.keywords[keyword]
        have = self.kw_urls.setdefault(keyword, set())
        self.kw_shas.setdefault(keyword, set())
        item.already = item.kept = len(have)
        self._inner.update(min(item.kept, config.per_keyword))
        errors: list[str] = []
        candidates = _interleave([(query, self.source.search(query)) for query in item.queries], errors)
        limit = int(config.per_keyword * config.candidates_per_keyword)
        rank = -1
        # Checked before asking for the next candidate, so a full keyword costs no further search page.
        while item.kept < config.per_keyword and rank + 1 < limit:
            next_candidate = next(candidates, None)
            if next_candidate is None:
                break
            query, hit = next_candidate
            rank += 1
            item.found += 1
            url = hit.download_url
            if url in have:
                continue  # kept by an earlier run; already counted
            if (keyword, url) in self.kw_duplicates:
                item.rejected["duplicate"] += 1
                continue
            if url in self.failed_urls:
                item.rejected[self.failed_urls[url][0]] += 1
                continue
            if not is_image_mime(hit.mime):
                self.failed_urls[url] = ("not_image", f"search reports {hit.mime}")
                self._reject(rejected, item, "not_image", hit, query, rank, f"search reports {hit.mime}", retry=False)
                continue
            image, is_new = self.by_url.get(url), False
            if image is None:
                if config.max_downloads is not None and self.summary.downloads >= config.max_downloads:
                    item.found -= 1  # this candidate is left for the next run
                    return False
                downloaded = self._download(item, hit, query, rank, rejected)
                if downloaded is None:
                    continue
                image, is_new = downloaded
            if image.source_sha256 in self.kw_shas[keyword]:
                # Same bytes under another URL, already kept for this keyword: one vote per image.
                self.kw_duplicates.add((keyword, url))
                self._reject(rejected, item, "duplicate", hit, query, rank, f"same bytes as {image.relpath}", retry=False)
                continue
            self._keep(journal, item, image, hit, query, rank)
            if is_new:
                item.new += 1
            else:
                item.shared += 1
        if errors:
            item.search_error = "; ".join(errors)
        return True

    def _download(self, item: KeywordSummary, hit: ImageHit, query: str, rank: int, rejected: AppendLog) -> tuple[_Image, bool] | None:
        """Fetch, check and save one image: (image, whether its file is new), or None when rejected."""
        config = self.config
        self.summary.downloads += 1
        try:
            response = self.http.get(hit.download_url, max_bytes=config.max_bytes, accept=accept_content_type)
        except FetchError as exc:
            reason: Reason = "http_error" if exc.reason == "timeout" else exc.reason
            if not exc.transient:  # a transient failure is tried again by the next run
                self.failed_urls[hit.download_url] = (reason, exc.detail)
            self._reject(rejected, item, reason, hit, query, rank, exc.detail, retry=exc.transient)
            return None
        source_sha = sha256_bytes(response.body)
        if (image := self.by_sha.get(source_sha)) is not None:
            return image, False  # same bytes as an image kept before: no second file
        try:
            pixels = decode(response.body, max_pixels=config.max_pixels)
        except ImageError as exc:
            self.failed_urls[hit.download_url] = ("decode_error", str(exc))
            self._reject(rejected, item, "decode_error", hit, query, rank, str(exc), retry=False)
            return None
        lossless = response.content_type in LOSSLESS_TYPES or hit.mime in LOSSLESS_TYPES
        saved = save_thumbnail(pixels, self.out_dir, source_sha, thumb_size=config.thumb_size, lossless=lossless)
        return _Image(saved.relpath, saved.sha256, source_sha), True


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def collect_images(
    keywords: Iterable[str],
    out_dir: str | os.PathLike[str],
    config: CollectConfig | None = None,
    *,
    session: PoliteSession | None = None,
    show_progress: bool | None = None,
) -> CollectSummary:
    """Collect up to ``config.per_keyword`` thumbnails per keyword into ``out_dir``.

    Writes ``manifest.csv`` (DESIGN.md image-manifest format, one row per image–keyword pair),
    ``rejected.csv``, ``files/`` and ``summary.json``; returns the same summary. Safe to interrupt
    and re-run: only what is missing is fetched. ``session`` lets callers (tests) supply a
    :class:`PoliteSession` with their own pacing; by default one is built from ``config``.
    """
    config = config or CollectConfig()
    words = list(dict.fromkeys(keywords))
    if not words:
        raise InputError("collect_images: no keywords given; pass at least one keyword.")
    for word in words:
        if not word.strip() or "|" in word or "\n" in word:
            raise InputError(f"collect_images: keyword {word!r} is empty or contains '|' or a newline; those cannot be manifest labels.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    http = session or PoliteSession(
        contact=config.contact,
        rate=config.rate,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries=config.retries,
        backoff=config.backoff,
    )
    if config.contact is None and config.endpoint is None:
        log.warning("no --contact given: Wikimedia and Openverse ask API clients for a way to reach them")
    cache = _CachedJson(http, out / SEARCH_CACHE)
    source = make_source(config.source, cache, endpoint=config.endpoint, thumb_size=config.thumb_size, licence_type=config.licence_type)
    summary = CollectSummary(
        out_dir=str(out),
        manifest=str(out / MANIFEST_NAME),
        source=source.name,
        endpoint=source.endpoint,
        per_keyword=config.per_keyword,
        keywords={word: KeywordSummary(word, queries_for(word, config.langs)) for word in words},
    )
    collector = _Collector(out, config, http, source, summary)
    collector.load_previous()
    requests_before = http.requests_sent
    started = time.perf_counter()
    try:
        with AppendLog(out / JOURNAL_NAME, JOURNAL_COLUMNS) as journal, AppendLog(out / REJECTED_NAME, REJECT_COLUMNS) as rejected:
            collector.run(words, journal, rejected, show_progress)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    finally:
        collector.write_manifest()  # also after Ctrl-C or an error: what was kept is usable at once
        summary.requests = http.requests_sent - requests_before
        atomic_write_json(out / SUMMARY_NAME, summary.to_dict())
        if session is None:
            http.close()
        log.info("collect-images: %s in %.1f s, %d requests", summary.totals, time.perf_counter() - started, summary.requests)
    if all(item.search_error and item.found == 0 for item in summary.keywords.values()):
        raise BackendUnavailableError(
            f"collect-images: every search failed at {source.endpoint} (first: {next(iter(summary.keywords.values())).search_error}); "
            f"check the network or --endpoint, then run again (nothing kept so far is lost)."
        )
    return summary
