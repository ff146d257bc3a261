"""`graphrec collect-images` end to end against a local imitation of the Commons and Openverse APIs.

The server (127.0.0.1, ephemeral port) answers both search APIs from one table of
query -> image names and serves generated images whose names say how they misbehave:
``html-*`` HTML, ``big-*`` too large (declared), ``stream-*`` too large (undeclared, streamed),
``corrupt-*`` image/jpeg that is not one, ``gone-*`` 404, ``slow-*`` slower than the read
timeout, ``r429-*`` one 429 with Retry-After first, ``r500-*`` one 500 first, ``pdf-*`` a
non-image MIME type in the search answer, ``dup-<name>`` the same bytes as <name>.
It counts every request, so tests can prove that nothing is fetched twice.

Run as a script (``python tests/test_collect.py``) to see a collect / interrupt / resume demo.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from graphrec import __version__
from graphrec.collect import JOURNAL_COLUMNS, MANIFEST_COLUMNS, CollectConfig, PoliteSession, collect_images, rank_weight, read_keywords
from graphrec.errors import BackendUnavailableError, InputError

CONTACT = "tests@example.org"
MAX_BYTES = 200_000
SLOW_SECONDS = 1.0
READ_TIMEOUT = 0.25


def image_bytes(name: str) -> bytes:
    """A 640x480 picture, different for every name, small on disk (smooth, so it compresses)."""
    digest = hashlib.sha256(name.encode()).digest()
    base = Image.new("RGB", (640, 480), tuple(digest[:3]))
    stripe = Image.new("RGB", (640, 60), tuple(digest[3:6]))
    base.paste(stripe, (0, digest[6] % 400))
    buffer = io.BytesIO()
    base.save(buffer, format="PNG" if name.endswith(".png") else "JPEG", quality=85)
    return buffer.getvalue()


class FakeAPI:
    """Both search APIs plus an image host, on one local port."""

    def __init__(self, results: dict[str, list[str]]) -> None:
        self.results = results
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.lock = threading.Lock()
        self.served = Counter[str]()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with api.lock:
                    api.requests.append((parts.path, query, dict(self.headers)))
                try:
                    if parts.path == "/w/api.php":
                        self._json(api.commons(query))
                    elif parts.path == "/v1/images/":
                        self._json(api.openverse(query))
                    elif parts.path.startswith("/img/"):
                        self._image(parts.path.removeprefix("/img/"))
                    else:
                        self._send(404, "text/plain", b"no such page")
                except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                    pass

            def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str] | None = None, length: bool = True) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, obj: object) -> None:
                self._send(200, "application/json; charset=utf-8", json.dumps(obj, ensure_ascii=False).encode())

            def _image(self, name: str) -> None:
                with api.lock:
                    api.served[name] += 1
                    count = api.served[name]
                kind = name.split("-", 1)[0]
                ctype = "image/png" if name.endswith(".png") else "image/jpeg"
                if kind == "html":
                    self._send(200, "text/html; charset=utf-8", b"<html><body>Please enable JavaScript</body></html>")
                elif kind == "big":
                    self._send(200, "image/jpeg", b"\xff\xd8" + b"\0" * (MAX_BYTES + 10))
                elif kind == "stream":  # no Content-Length: only streaming notices the size
                    self._send(200, "image/jpeg", b"\xff\xd8" + b"\0" * (MAX_BYTES * 2), length=False)
                elif kind == "corrupt":
                    self._send(200, "image/jpeg", b"\xff\xd8\xff\xe0 this is not really a JPEG " * 20)
                elif kind == "gone":
                    self._send(404, "text/html", b"<h1>Not Found</h1>")
                elif kind == "slow":
                    time.sleep(SLOW_SECONDS)
                    self._send(200, ctype, image_bytes(name))
                elif kind == "r429" and count == 1:
                    self._send(429, "text/plain", b"slow down", {"Retry-After": "2"})
                elif kind == "r500" and count == 1:
                    self._send(500, "text/plain", b"oops")
                elif kind == "dup":
                    self._send(200, ctype, image_bytes(name.removeprefix("dup-")))
                else:
                    self._send(200, ctype, image_bytes(name))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- the two APIs ---------------------------------------------------------------------------

    def commons(self, q: dict[str, str]) -> dict:
        assert q["generator"] == "search" and q["gsrnamespace"] == "6" and "url" in q["iiprop"]
        names = self.results.get(q["gsrsearch"], [])
        offset, limit = int(q.get("gsroffset", 0)), int(q["gsrlimit"])
        pages = []
        for i, name in enumerate(names[offset : offset + limit]):
            mime = "application/pdf" if name.startswith("pdf-") else ("image/png" if name.endswith(".png") else "image/jpeg")
            pages.append(
                {
                    "pageid": 1000 + offset + i,
                    "ns": 6,
                    "title": f"File:{name}",
                    "index": offset + i + 1,
                    "imageinfo": [
                        {
                            "url": f"{self.base}/img/orig/{name}",
                            "descriptionurl": f"{self.base}/wiki/File:{name}",
                            "thumburl": f"{self.base}/img/{name}",
                            "thumbwidth": int(q["iiurlwidth"]),
                            "mime": mime,
                            "size": 12345,
                            "sha1": "0" * 40,
                            "extmetadata": {
                                "LicenseShortName": {"value": "CC BY-SA 4.0"},
                                "Artist": {"value": f'<a href="//commons.wikimedia.org/wiki/User:A">Ann &amp; {name}</a>'},
                            },
                        }
                    ],
                }
            )
        pages.reverse()  # a generator answers in page-id order, not rank order; the client must sort by index
        answer: dict = {"batchcomplete": True, "query": {"pages": pages}}
        if offset + limit < len(names):
            answer["continue"] = {"gsroffset": offset + limit, "continue": "gsroffset||"}
        return answer

    def openverse(self, q: dict[str, str]) -> dict:
        names = self.results.get(q["q"], [])
        size, page = int(q["page_size"]), int(q["page"])
        chunk = names[(page - 1) * size : page * size]
        return {
            "result_count": len(names),
            "page_count": math.ceil(len(names) / size),
            "page_size": size,
            "page": page,
            "results": [
                {
                    "id": name,
                    "title": f"Title {name}",
                    "url": f"{self.base}/img/orig/{name}",
                    "thumbnail": f"{self.base}/img/{name}",
                    "license": "by-sa",
                    "license_version": "2.0",
                    "creator": f"Creator {name}",
                    "foreign_landing_url": f"{self.base}/landing/{name}",
                    "filetype": "jpg",
                }
                for name in chunk
            ],
        }

    # -- bookkeeping ----------------------------------------------------------------------------

    def image_requests(self) -> Counter[str]:
        return Counter(path for path, _, _ in self.requests if path.startswith("/img/"))

    def search_requests(self) -> Counter[str]:
        return Counter(json.dumps([p, sorted(q.items())]) for p, q, _ in self.requests if not p.startswith("/img/"))

    def __enter__(self) -> FakeAPI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api() -> Iterator:
    servers: list[FakeAPI] = []

    def start(results: dict[str, list[str]]) -> FakeAPI:
        server = FakeAPI(results).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


class Waits:
    """Stands in for time.sleep (and the clock) so back-off is checked, not spent."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def session(waits: Waits | None = None, **kwargs) -> PoliteSession:
    waits = waits or Waits()
    options = dict(contact=CONTACT, rate=5.0, read_timeout=READ_TIMEOUT, retries=2, backoff=0.5, sleep=waits.sleep, clock=waits.clock)
    options.update(kwargs)
    return PoliteSession(**options)


def config(api: FakeAPI, source: str = "commons", **kwargs) -> CollectConfig:
    endpoint = f"{api.base}/w/api.php" if source == "commons" else f"{api.base}/v1/images/"
    options = dict(source=source, endpoint=endpoint, per_keyword=3, max_bytes=MAX_BYTES, contact=CONTACT)
    options.update(kwargs)
    return CollectConfig(**options)


def read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == columns
        return list(reader)


def read_journal(out: Path) -> list[dict[str, str]]:
    """One row per (image, keyword) find, in the order found."""
    return read_csv(out / "journal.csv", JOURNAL_COLUMNS)


def read_manifest(out: Path) -> list[dict[str, str]]:
    """One row per image file."""
    return read_csv(out / "manifest.csv", MANIFEST_COLUMNS)


def read_rejected(out: Path) -> list[dict[str, str]]:
    with open(out / "rejected.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# -- counts, thumbnails, weights ----------------------------------------------------------------


def test_counts_per_keyword_thumbnails_and_rank_weights(fake_api, tmp_path):
    api = fake_api(
        {
            "snow": ["s0.jpg", "s1.jpg", "s2.jpg", "s3.jpg", "s4.jpg"],
            "moon": ["m0.jpg", "html-m1", "m2.png", "gone-m3", "m4.jpg", "m5.jpg"],
        }
    )
    out = tmp_path / "images"
    summary = collect_images(["雪", "月"], out, config(api), session=session(), show_progress=False)

    snow, moon = summary.keywords["雪"], summary.keywords["月"]
    assert snow.queries == ["snow"] and moon.queries == ["moon"]
    assert (snow.found, snow.kept, snow.new, sum(snow.rejected.values())) == (3, 3, 3, 0)
    assert (moon.found, moon.kept, moon.new) == (5, 3, 3)
    assert moon.rejected == {"too_large": 0, "not_image": 1, "duplicate": 0, "http_error": 1, "decode_error": 0}
    # Candidates past the third kept one are never downloaded.
    assert not {"/img/s3.jpg", "/img/s4.jpg", "/img/m5.jpg"} & set(api.image_requests())

    rows = read_journal(out)
    assert [r["keywords"] for r in rows] == ["雪"] * 3 + ["月"] * 3  # the label, never the English query
    assert [int(r["rank"]) for r in rows] == [0, 1, 2, 0, 2, 4]
    for row in rows:
        assert float(row["weight"]) == pytest.approx(rank_weight(int(row["rank"]), 3), abs=1e-8)
        assert 0 < float(row["weight"]) <= 1
        path = out / row["path"]
        with Image.open(path) as im:
            assert max(im.size) == 320  # 640x480 shrunk to 320 px on the longest side
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        assert row["licence"] == "CC BY-SA 4.0" and row["author"].startswith("Ann & ")  # HTML stripped, entity decoded
        assert row["source_url"].startswith(f"{api.base}/wiki/File:")
    assert rows[4]["path"].endswith(".png")  # PNG stays lossless; photos become JPEG
    assert rows[0]["path"].endswith(".jpg")

    on_disk = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["totals"]["kept"] == 6 and on_disk["keywords"][1]["rejected"]["not_image"] == 1
    assert summary.totals["rejected"]["http_error"] == 1


def test_every_rejection_reason_is_counted_and_logged(fake_api, tmp_path):
    names = ["ok0.jpg", "html-1", "big-2", "stream-3", "corrupt-4", "gone-5", "slow-6.jpg", "pdf-7", "dup-ok0.jpg", "ok9.jpg"]
    api = fake_api({"rain": names})
    out = tmp_path / "images"
    summary = collect_images(["rain"], out, config(api, per_keyword=20), session=session(), show_progress=False)

    rain = summary.keywords["rain"]
    assert rain.kept == 2 and rain.found == 10
    assert rain.rejected == {"too_large": 2, "not_image": 2, "duplicate": 1, "http_error": 2, "decode_error": 1}
    by_url = {row["download_url"].rsplit("/", 1)[1]: row for row in read_rejected(out)}
    expected = {
        "html-1": "not_image",
        "big-2": "too_large",
        "stream-3": "too_large",
        "corrupt-4": "decode_error",
        "gone-5": "http_error",
        "slow-6.jpg": "http_error",
        "pdf-7": "not_image",
        "dup-ok0.jpg": "duplicate",
    }
    assert {name: row["reason"] for name, row in by_url.items()} == expected
    assert by_url["slow-6.jpg"]["retry"] == "yes" and "timed out" in by_url["slow-6.jpg"]["detail"]
    assert by_url["gone-5"]["retry"] == "no" and "404" in by_url["gone-5"]["detail"]
    served = api.image_requests()
    assert served["/img/slow-6.jpg"] == 3  # first try + 2 retries
    assert served["/img/gone-5"] == 1  # a 404 is final
    assert "/img/pdf-7" not in served  # rejected from the search answer, never downloaded
    assert len(list((out / "files").rglob("*.*"))) == 2


def test_retry_after_and_server_errors_are_retried(fake_api, tmp_path):
    api = fake_api({"wind": ["r429-a.jpg", "r500-b.jpg"]})
    waits = Waits()
    summary = collect_images(["风"], tmp_path / "out", config(api), session=session(waits), show_progress=False)
    assert summary.keywords["风"].kept == 2
    assert api.image_requests() == Counter({"/img/r429-a.jpg": 2, "/img/r500-b.jpg": 2})
    # The 429 said Retry-After: 2, so the next request to that host waited 2 s; the 500 got the
    # exponential back-off's first step (0.5 s).
    assert max(waits.calls) == pytest.approx(2.0, abs=0.01)
    assert any(abs(w - 0.5) < 0.01 for w in waits.calls)


def test_duplicates_across_keywords_share_one_file(fake_api, tmp_path):
    api = fake_api({"snow": ["x.jpg"], "moon": ["dup-x.jpg", "z.jpg"], "flower": ["x.jpg"]})
    out = tmp_path / "images"
    summary = collect_images(["雪", "月", "花"], out, config(api), session=session(), show_progress=False)

    journal = read_journal(out)
    assert [(r["keywords"], r["download_url"].rsplit("/", 1)[1]) for r in journal] == [
        ("雪", "x.jpg"),
        ("月", "dup-x.jpg"),
        ("月", "z.jpg"),
        ("花", "x.jpg"),
    ]
    assert journal[0]["path"] == journal[1]["path"] == journal[3]["path"] != journal[2]["path"]
    # The manifest has one row per file, with every keyword that found it and one weight each.
    manifest = {row["path"]: row for row in read_manifest(out)}
    assert len(manifest) == 2
    shared = manifest[journal[0]["path"]]
    assert (shared["keywords"], shared["weight"], shared["queries"]) == ("雪|月|花", "1|1|1", "snow|moon|flower")
    assert shared["download_url"].endswith("/img/x.jpg")  # provenance of the file's first find
    assert (manifest[journal[2]["path"]]["keywords"], manifest[journal[2]["path"]]["weight"]) == ("月", "0.75")
    assert len(list((out / "files").rglob("*.*"))) == 2
    assert summary.keywords["月"].shared == 1 and summary.keywords["月"].new == 1
    assert summary.keywords["花"].shared == 1
    assert api.image_requests()["/img/x.jpg"] == 1  # the third keyword reused it without a download


# -- resume ---------------------------------------------------------------------------------------


def test_resume_after_interruption_fetches_nothing_twice(fake_api, tmp_path):
    results = {word: [f"{word}{i}.jpg" for i in range(5)] for word in ("snow", "moon", "flower", "wind")}
    results["moon"].insert(1, "html-m")
    api = fake_api(results)
    out = tmp_path / "images"
    keywords = ["雪", "月", "花", "风"]

    first = collect_images(keywords, out, config(api, max_downloads=5), session=session(), show_progress=False)
    assert first.stopped_early and first.downloads == 5
    assert first.totals["kept"] == 4  # 3 snow + 1 moon (the HTML page took one download)
    assert first.keywords["月"].found == 2  # the candidate the budget stopped at is left for the next run
    second = collect_images(keywords, out, config(api), session=session(), show_progress=False)
    assert not second.stopped_early
    assert {k: s.kept for k, s in second.keywords.items()} == {"雪": 3, "月": 3, "花": 3, "风": 3}
    assert second.keywords["雪"].already == 3 and second.keywords["月"].already == 1
    assert second.keywords["月"].rejected["not_image"] == 1  # remembered, not fetched again

    assert max(api.image_requests().values()) == 1, api.image_requests()
    assert max(api.search_requests().values()) == 1  # search answers come from the cache
    assert len(read_journal(out)) == len(read_manifest(out)) == 12

    third = collect_images(keywords, out, config(api), session=session(), show_progress=False)
    assert third.requests == 0 and third.totals["already"] == 12 and third.totals["new"] == 0


def test_torn_last_line_is_dropped_reported_and_refetched(fake_api, tmp_path):
    api = fake_api({"snow": ["a.jpg", "b.jpg", "c.jpg"]})
    out = tmp_path / "images"
    collect_images(["雪"], out, config(api), session=session(), show_progress=False)
    data = (out / "journal.csv").read_bytes()
    last_line_start = data.rstrip(b"\n").rfind(b"\n") + 1
    (out / "journal.csv").write_bytes(data[: last_line_start + 25])  # killed in the middle of the last row

    summary = collect_images(["雪"], out, config(api), session=session(), show_progress=False)
    assert summary.torn_lines_dropped == 1
    assert summary.keywords["雪"].already == 2 and summary.keywords["雪"].kept == 3
    rows = read_journal(out)
    assert len(rows) == 3 and len({r["download_url"] for r in rows}) == 3
    assert (out / "journal.csv").read_bytes().endswith(b"\n")
    assert len(read_manifest(out)) == 3
    assert api.image_requests()["/img/c.jpg"] == 2  # its row was lost, so it was fetched again (honestly)


def test_damage_before_the_last_line_is_an_error(fake_api, tmp_path):
    api = fake_api({"snow": ["a.jpg", "b.jpg", "c.jpg"]})
    out = tmp_path / "images"
    collect_images(["雪"], out, config(api), session=session(), show_progress=False)
    lines = (out / "journal.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "only,three,fields\n"
    (out / "journal.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        collect_images(["雪"], out, config(api), session=session(), show_progress=False)


# -- sources, languages, manners ---------------------------------------------------------------


def test_openverse_paginates_and_records_licence(fake_api, tmp_path):
    api = fake_api({"snow": [f"o{i}.jpg" for i in range(25)]})
    out = tmp_path / "images"
    summary = collect_images(["雪"], out, config(api, "openverse", per_keyword=22), session=session(rate=1000), show_progress=False)
    assert summary.keywords["雪"].kept == 22
    pages = sorted(int(q["page"]) for p, q, _ in api.requests if p == "/v1/images/")
    assert pages == [1, 2]
    row = read_manifest(out)[0]
    assert (row["licence"], row["author"], row["source"]) == ("CC BY-SA 2.0", "Creator o0.jpg", "openverse")
    assert row["source_url"] == f"{api.base}/landing/o0.jpg" and row["title"] == "Title o0.jpg"


def test_both_languages_are_queried_and_interleaved_under_one_label(fake_api, tmp_path):
    api = fake_api({"雪": ["zh0.jpg", "zh1.jpg"], "snow": ["en0.jpg", "en1.jpg", "zh0.jpg"]})
    out = tmp_path / "images"
    summary = collect_images(["雪"], out, config(api, langs=("zh", "en"), per_keyword=10), session=session(), show_progress=False)
    assert summary.keywords["雪"].queries == ["雪", "snow"]
    rows = read_journal(out)
    assert [(r["download_url"].rsplit("/", 1)[1], r["query"]) for r in rows] == [
        ("zh0.jpg", "雪"),
        ("en0.jpg", "snow"),
        ("zh1.jpg", "雪"),
        ("en1.jpg", "snow"),
    ]  # the URL both queries found is taken once
    assert {r["keywords"] for r in rows} == {"雪"}


def test_user_agent_names_graphrec_and_the_contact(fake_api, tmp_path):
    api = fake_api({"snow": ["a.jpg"]})
    collect_images(["雪"], tmp_path / "out", config(api), session=session(), show_progress=False)
    agents = {headers.get("User-Agent") for _, _, headers in api.requests}
    assert len(agents) == 1
    agent = agents.pop()
    assert agent.startswith(f"graphrec/{__version__} (+") and CONTACT in agent


def test_rate_limit_spaces_requests_per_host(fake_api):
    api = fake_api({})
    waits = Waits()
    with session(waits, rate=2.0) as http:
        for _ in range(3):
            http.get_json(f"{api.base}/v1/images/", params={"q": "x", "page_size": "20", "page": "1"})
    assert waits.calls == [pytest.approx(0.5), pytest.approx(0.5)]


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = CollectConfig(endpoint=f"http://127.0.0.1:{port}/w/api.php", per_keyword=2)
    with pytest.raises(BackendUnavailableError, match="every search failed"):
        collect_images(["雪"], tmp_path / "out", cfg, session=session(retries=0), show_progress=False)
    assert json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["keywords"][0]["search_error"]


# -- inputs and the CLI -------------------------------------------------------------------------


def test_keyword_file_comments_bom_repeats(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("\ufeff# seasons\n雪\n\n月  # moon\n雪\nspring rain\n".encode())
    assert read_keywords(path) == ["雪", "月", "spring rain"]


def test_keyword_file_errors_name_the_problem(tmp_path):
    bad = tmp_path / "gbk.txt"
    bad.write_bytes("雪\n".encode() + "月\n".encode("gbk"))
    with pytest.raises(InputError, match=r"not UTF-8.*line 2.*save it as UTF-8"):
        read_keywords(bad)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="lists no keywords"):
        read_keywords(empty)
    pipe = tmp_path / "pipe.txt"
    pipe.write_text("a|b\n", encoding="utf-8")
    with pytest.raises(InputError, match="'\\|'"):
        read_keywords(pipe)
    with pytest.raises(InputError, match="does not exist"):
        read_keywords(tmp_path / "missing.txt")


def test_config_is_validated():
    with pytest.raises(InputError, match="per_keyword"):
        CollectConfig(per_keyword=0)
    with pytest.raises(InputError, match="langs"):
        CollectConfig(langs=("fr",))
    with pytest.raises(InputError, match="endpoint"):
        CollectConfig(endpoint="ftp://example.org")


def test_cli_prints_the_summary_and_writes_it(fake_api, tmp_path, capsys):
    from graphrec.cli import main

    api = fake_api({"snow": ["a.jpg", "html-b", "c.jpg"], "moon": ["d.jpg"]})
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("# test\n雪\n月\n", encoding="utf-8")
    out = tmp_path / "images"
    argv = ["--no-progress", "collect-images", "--keywords", str(vocab), "--out", str(out), "--per-keyword", "2"]
    argv += ["--endpoint", f"{api.base}/w/api.php", "--rate", "1000", "--contact", CONTACT, "--max-bytes", str(MAX_BYTES)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in printed.splitlines() if line.strip()}
    # keyword found kept new shared already too_large not_image duplicate http_error decode_error
    assert lines["雪"][1:] == ["3", "2", "2", "0", "0", "0", "1", "0", "0", "0"]
    assert lines["月"][1:4] == ["1", "1", "1"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["totals"]["kept"] == 3

    bad = tmp_path / "bad.txt"
    bad.write_bytes("月\n".encode("gbk"))
    assert main(["collect-images", "--keywords", str(bad), "--out", str(out)]) == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_manifest_is_readable_by_read_image_manifest(fake_api, tmp_path):
    images = pytest.importorskip("graphrec.data.images")
    api = fake_api({"snow": ["x.jpg", "y.jpg"], "moon": ["x.jpg", "w.jpg"]})
    out = tmp_path / "images"
    collect_images(["雪", "月"], out, config(api), session=session(), show_progress=False)
    image_set = images.read_image_manifest(out / "manifest.csv")
    labels: dict[str, set[str]] = {}
    for record in image_set:
        assert Path(record.path).is_file()
        assert all(0 < w <= 1 for w in record.weights)
        labels.setdefault(Path(record.path).name, set()).update(record.keywords)
    assert sorted(map(sorted, labels.values())) == [["月"], ["月", "雪"], ["雪"]]


# -- a demo for humans: python tests/test_collect.py ------------------------------------------------


def _demo() -> None:  # pragma: no cover
    import logging
    import tempfile

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = {
        "snow": ["s0.jpg", "html-s1", "s2.jpg", "big-s3", "s4.png", "s5.jpg", "s6.jpg", "s7.jpg"],
        "moon": ["m0.jpg", "dup-s0.jpg", "r429-m2.jpg", "m3.jpg", "corrupt-m4", "m5.jpg", "m6.jpg"],
        "flower": ["f0.jpg", "s2.jpg", "r500-f2.jpg", "gone-f3", "stream-f4", "f5.jpg", "f6.jpg"],
        "wind": ["w0.jpg", "slow-w1.jpg", "w2.jpg", "pdf-w3", "w4.jpg", "w5.jpg"],
    }
    with FakeAPI(results) as api, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "images"
        keywords = ["雪", "月", "花", "风"]
        print(f"fake API at {api.base}; keywords {keywords}; per_keyword=4\n")
        print("== run 1, interrupted after 7 downloads ==")
        first = collect_images(keywords, out, config(api, per_keyword=4, max_downloads=7), session=session(Waits()), show_progress=False)
        print(first.format_table(), "\n")
        print("== run 2, resumed ==")
        second = collect_images(keywords, out, config(api, per_keyword=4), session=session(Waits()), show_progress=False)
        print(second.format_table(), "\n")
        print("== run 3, nothing left to do ==")
        third = collect_images(keywords, out, config(api, per_keyword=4), session=session(Waits()), show_progress=False)
        print(third.format_table(), "\n")
        images = api.image_requests()
        retried = {p: n for p, n in images.items() if n > 1}
        print(f"image URLs requested: {len(images)}; requested more than once: {retried}")
        print("  (r429/r500 are one retry each within run 1 or 2; slow-w1 is 1 try + 2 retries; none across runs)")
        print(f"search requests: {sum(api.search_requests().values())}, most for one URL: {max(api.search_requests().values())}")
        print(f"files: {len(list((out / 'files').rglob('*.*')))}, manifest rows: {len(read_manifest(out))}")
        print("\nmanifest.csv (first 4 lines):")
        print("".join((out / "manifest.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:4]))


if __name__ == "__main__":  # pragma: no cover
    _demo()
