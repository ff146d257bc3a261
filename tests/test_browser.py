"""The web page in a real headless Chromium (Debian's `chromium`, driven by Playwright): upload, ten songs render.

Skipped, loudly, where /usr/bin/chromium or the playwright package is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import THEMES, solid_image

CHROMIUM = os.environ.get("GRAPHREC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"BROWSER TEST SKIPPED: no Chromium at {CHROMIUM}; install it with `apt-get install -y chromium` "
            "(or set GRAPHREC_CHROMIUM) — .ci/run does this in CI"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(
            "BROWSER TEST SKIPPED: the playwright package is missing; `.venv/bin/pip install playwright` "
            "(never `playwright install`: the test uses Debian's chromium) — .ci/run does this in CI"
        )


@pytest.fixture
def live_server(tiny_recommender):
    """The app on 127.0.0.1 at a free port, in a thread of this process; yields its base URL."""
    import uvicorn

    from graphrec.serve.app import create_app

    app = create_app(tiny_recommender)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 30 s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_page_uploads_an_image_and_renders_ten_songs(live_server, tmp_path):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    photo = solid_image(tmp_path / "snowy.png", THEMES["雪"]["colour"], seed=4242, size=256)
    failed_requests: list[str] = []
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1180, "height": 1400})
            page.on("requestfailed", lambda r: failed_requests.append(r.url))
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            # The page must work with no network: every request outside this server is refused.
            page.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(live_server) else route.abort(),
            )
            page.goto(live_server + "/")
            # Locator assertions, not wait_for_function: the page's CSP (no 'unsafe-eval') stays enforced.
            expect(page.locator("#model-info")).to_contain_text("songs")
            page.set_input_files("#file", str(photo))
            songs = page.locator("#results li.song")
            expect(songs).to_have_count(10, timeout=30_000)
            expect(page.locator("#status")).to_contain_text("10 songs")
            thumbs_loaded = "() => [...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
            deadline = time.monotonic() + 30
            while not page.evaluate(thumbs_loaded):
                assert time.monotonic() < deadline, "dataset thumbnails did not load"
                time.sleep(0.05)
            titles = songs.locator(".title").all_text_contents()
            assert all(titles) and len(titles) == 10
            # known answer: a snow-white photo puts the four snow songs first, each explained by 雪
            assert all(t.startswith("雪") for t in titles[:4]), titles
            first = songs.nth(0)
            assert first.locator(".lines").text_content().strip()
            assert first.locator(".keywords .chip").all_text_contents() == ["雪"]
            assert first.locator("img.thumb").count() >= 1
            first.locator("summary").click()
            expect(first.locator(".lyrics")).not_to_be_empty()

            shot = tmp_path / "graphrec-page.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    assert failed_requests == [] and console_errors == [], (failed_requests, console_errors)
    artifacts = os.environ.get("GRAPHREC_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(artifacts) / shot.name)
