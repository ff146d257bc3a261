"""The HTTP service: limits (413/415/422), known-answer recommendations, id lookups that never touch a client path."""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx", reason="fastapi.testclient needs httpx: pip install -e '.[test]'")

from fastapi.testclient import TestClient  # noqa: E402

from conftest import THEMES  # noqa: E402


@pytest.fixture(scope="module")
def client(tiny_recommender):
    from graphrec.serve.app import create_app

    app = create_app(tiny_recommender, max_upload_bytes=200_000, max_pixels=1_000_000)
    with TestClient(app) as c:
        yield c


def png_bytes(word: str, seed: int = 5, size: int = 32) -> bytes:
    """An image in the theme's colour, like conftest.solid_image, as PNG bytes."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    rng = np.random.default_rng(seed)
    colour = np.array(THEMES[word]["colour"])
    pixels = np.clip(colour[None, None, :] + rng.integers(-12, 13, size=(size, size, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def huge_header_png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds almost no data: a decompression-bomb shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def post_image(client, data: bytes, content_type: str = "image/png", **params):
    return client.post("/recommend", files={"file": ("photo", data, content_type)}, params=params)


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"] and body["detail"]
    return body


# ------------------------------------------------------------------------------------------- recommend


@pytest.mark.parametrize("word", list(THEMES))
def test_recommend_known_answer(client, word):
    response = post_image(client, png_bytes(word), k=4)
    assert response.status_code == 200, response.text
    body = response.json()
    songs = body["songs"]
    assert len(songs) == 4
    # Each theme has four songs; an image in the theme's colour must get all four of them.
    assert {s["song_id"].split("-")[0] for s in songs} == {word}
    for song in songs:
        assert song["images"] and all(img["image_id"].startswith(word + "/") for img in song["images"])
        assert song["keywords"] == [word]
        assert song["title"] and song["first_lines"]


def test_recommend_default_k_and_form_k(client):
    assert len(post_image(client, png_bytes("月")).json()["songs"]) == 10
    response = client.post("/recommend", files={"file": ("a.png", png_bytes("月"), "image/png")}, data={"k": "3"})
    assert response.status_code == 200
    assert len(response.json()["songs"]) == 3


@pytest.mark.parametrize("k", [0, -1, 101])
def test_recommend_rejects_bad_k(client, k):
    assert_error(post_image(client, png_bytes("月"), k=k), 422)


def test_recommend_accepts_jpeg_gif_bmp_webp(client):
    from PIL import Image

    image = Image.open(io.BytesIO(png_bytes("花")))
    for fmt, ctype in (("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("BMP", "image/bmp"), ("WEBP", "image/webp")):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        response = post_image(client, buffer.getvalue(), ctype, k=2)
        assert response.status_code == 200, (fmt, response.text)
        assert response.json()["songs"][0]["song_id"].startswith("花")


# ------------------------------------------------------------------------------------------- limits


def test_oversized_upload_is_413(client):
    big = png_bytes("雪", size=400)  # noisy 400x400 PNG: ~400 KB, over the 200 KB limit
    assert len(big) > 200_000
    body = assert_error(post_image(client, big), 413)
    assert "bytes" in body["detail"]


def test_file_over_limit_inside_body_allowance_is_413(client):
    # Under the body cap (file limit + multipart allowance) but over the file limit: caught while reading the part.
    body = assert_error(post_image(client, b"\x89PNG" + b"\0" * 210_000), 413)
    assert "200000 bytes" in body["detail"]


def test_oversized_chunked_body_is_413_while_streaming(client):
    # No Content-Length: the limit must be enforced by counting the bytes as they arrive.
    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
        for _ in range(100):
            yield b"\0" * 10_000

    response = client.post("/recommend", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert "content-length" not in response.request.headers
    assert_error(response, 413)


def test_too_many_pixels_is_413(client):
    body = assert_error(post_image(client, huge_header_png(5000, 5000)), 413)
    assert "pixels" in body["detail"] and "5000x5000" in body["detail"]


def test_decompression_bomb_header_is_refused_without_decoding(client):
    assert_error(post_image(client, huge_header_png(60_000, 60_000)), 413)


@pytest.mark.parametrize("ctype", ["text/plain", "application/octet-stream", "image/tiff", "image/svg+xml", ""])
def test_wrong_content_type_is_415(client, ctype):
    assert_error(post_image(client, png_bytes("雪"), ctype), 415)


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not a picture, just text named photo.jpg\n", "truncated"],
    ids=["zero-bytes", "text-as-jpeg", "truncated-png"],
)
def test_malformed_upload_is_422(client, data):
    if data == "truncated":
        data = png_bytes("雪")[:150]
    assert_error(post_image(client, data, "image/jpeg"), 422)


def test_missing_file_field_is_422(client):
    assert_error(client.post("/recommend", data={"k": "3"}), 422)


def test_tiff_labelled_png_is_not_decoded(client):
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(png_bytes("雪"))).save(buffer, "TIFF")
    assert_error(post_image(client, buffer.getvalue(), "image/png"), 422)


# ------------------------------------------------------------------------------------------- lookups


def test_song_lookup(client, tiny_recommender):
    song = tiny_recommender.songs_[0]
    body = client.get(f"/songs/{song.id}").json()
    assert body["id"] == song.id and body["title"] == song.title and body["lyrics"] == song.lyrics
    assert body["keywords"] == [song.id.split("-")[0]]
    assert_error(client.get("/songs/no-such-song"), 404)


def test_image_thumbnail_by_model_id(client, tiny_recommender):
    from PIL import Image

    image_id = tiny_recommender.image_ids_[0]
    assert "/" in image_id  # ids with a slash must still be looked up whole
    response = client.get("/images/" + image_id.replace("/", "%2F"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] in ("image/png", "image/jpeg")
    thumb = Image.open(io.BytesIO(response.content))
    assert max(thumb.size) <= 192
    assert_error(client.get("/images/no-such-image"), 404)


_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and args and isinstance(args[0], str | bytes | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)


def test_path_traversal_gives_404_and_opens_no_file(client, tiny_recommender, tmp_path):
    global _opened
    secret = tmp_path / "secret-do-not-serve.png"
    secret.write_bytes(png_bytes("雪"))
    image_file = Path(tiny_recommender.images_[0].path)
    attempts = [
        "/songs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/songs/%2Fetc%2Fpasswd",
        "/images/" + str(secret).replace("/", "%2F"),
        "/images/" + str(image_file).replace("/", "%2F"),  # a real dataset file, but by path, not by id
        "/images/..%2F..%2F" + secret.name,
        "/images/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/static/..%2F__init__.py",
        "/static/%2E%2E%2Fapp.py",
    ]
    client.get("/healthz")  # let lazy imports happen before recording
    _opened = []
    try:
        responses = [client.get(url) for url in attempts]
    finally:
        opened, _opened = _opened, None
    for url, response in zip(attempts, responses):
        assert response.status_code == 404, (url, response.status_code, response.text)
        assert response.json()["error"]
    touched = [p for p in opened if "passwd" in p or secret.name in p or p == str(image_file) or p.endswith(".py")]
    assert touched == [], touched


def test_audit_hook_sees_thumbnail_reads(client, tiny_recommender):
    """The check above could not fail if the hook saw nothing; show it sees a real read."""
    global _opened
    image_id = tiny_recommender.image_ids_[-1]
    _opened = []
    try:
        assert client.get("/images/" + image_id.replace("/", "%2F")).status_code == 200
    finally:
        opened, _opened = _opened, None
    assert str(Path(tiny_recommender.images_[-1].path)) in opened


# ------------------------------------------------------------------------------------------- page and health


def test_healthz(client, tiny_recommender):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["featurizer"]["name"] == tiny_recommender.featurizer_name
    assert body["model"]["songs"] == len(tiny_recommender.song_ids_)
    assert body["limits"]["max_upload_bytes"] == 200_000


def test_page_and_static_files(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for name, ctype in (("app.js", "javascript"), ("style.css", "text/css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and ctype in response.headers["content-type"]
        assert "https://" not in response.text
    assert_error(client.get("/static/missing.js"), 404)
    assert_error(client.get("/no/such/route"), 404)


def test_create_app_loads_a_model_directory(tiny_model_dir):
    from graphrec.serve.app import create_app

    with TestClient(create_app(tiny_model_dir)) as c:
        assert c.get("/healthz").json()["model"]["name"] == tiny_model_dir.name  # the name only: no server path (issue 16)


def test_a_photo_with_no_evidence_gets_no_songs_and_the_reason(tiny_recommender):
    import dataclasses

    from graphrec.serve.app import create_app

    strict = tiny_recommender.with_recommend_config(
        dataclasses.replace(tiny_recommender.config.recommend, min_image_similarity=0.999, min_class_mass=0.999)
    )
    from PIL import Image

    green = io.BytesIO()
    Image.new("RGB", (32, 32), (40, 200, 60)).save(green, "PNG")  # a colour no dataset image has
    with TestClient(create_app(strict, max_upload_bytes=200_000, max_pixels=1_000_000)) as c:
        response = post_image(c, green.getvalue())
    assert response.status_code == 200
    body = response.json()
    assert body["songs"] == [] and "no evidence" in body["message"]
