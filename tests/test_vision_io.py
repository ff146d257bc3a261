"""load_image: every mode, container quirk and broken file the spec names, on files generated here."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graphrec.errors import ImageError
from graphrec.vision.io import ImageNotFoundError, load_image

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def _pixel(image: Image.Image, x: int = 0, y: int = 0) -> np.ndarray:
    return np.asarray(image)[y, x].astype(int)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)  # pure red in CMYK
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (16, 16)
    assert np.abs(_pixel(image, 8, 8) - RED).max() <= 30


def test_palette_png_with_and_without_transparency(tmp_path):
    palette = Image.new("P", (4, 2))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((1, 0), 1)
    palette.save(tmp_path / "p.png")
    image = load_image(tmp_path / "p.png")
    assert image.mode == "RGB"
    assert tuple(_pixel(image, 0, 0)) == RED and tuple(_pixel(image, 1, 0)) == BLUE

    palette.info["transparency"] = 1  # index 1 (blue) is transparent: must come out white, not blue
    palette.save(tmp_path / "pt.png", transparency=1)
    image = load_image(tmp_path / "pt.png")
    assert tuple(_pixel(image, 0, 0)) == RED and tuple(_pixel(image, 1, 0)) == WHITE


def test_la_composited_on_white(tmp_path):
    la = Image.new("LA", (4, 4), (0, 255))
    la.putpixel((0, 0), (0, 0))  # transparent black -> white
    la.putpixel((1, 0), (0, 128))  # half-transparent black -> mid grey
    la.save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    assert tuple(_pixel(image, 0, 0)) == WHITE
    assert np.abs(_pixel(image, 1, 0) - 127).max() <= 2
    assert tuple(_pixel(image, 2, 0)) == (0, 0, 0)


def test_rgba_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 255, 0))
    rgba.putpixel((1, 0), (255, 0, 0, 128))
    rgba.save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    assert tuple(_pixel(image, 0, 0)) == WHITE  # a fully transparent blue pixel shows the white background
    assert np.abs(_pixel(image, 1, 0) - (255, 127, 127)).max() <= 2
    assert tuple(_pixel(image, 2, 0)) == RED


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "i16.png")
    assert Image.open(tmp_path / "i16.png").mode.startswith("I")  # the case under test
    image = load_image(tmp_path / "i16.png")
    assert image.mode == "RGB"
    # A plain convert("L") would give 0, 255, 255, 255.
    assert np.asarray(image)[0, :, 0].tolist() == [0, 1, 128, 255]


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(tmp_path / "anim.gif").n_frames == 2
    image = load_image(tmp_path / "anim.gif")
    assert np.abs(_pixel(image, 4, 4) - RED).max() <= 10


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = RED  # left half red, right half blue, as stored
    pixels[:, 20:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    image = load_image(tmp_path / "rot.jpg")
    assert image.size == (20, 40)  # now portrait
    # Turning clockwise brings the stored left (red) edge to the top.
    assert np.abs(_pixel(image, 10, 2) - RED).max() <= 40
    assert np.abs(_pixel(image, 10, 37) - BLUE).max() <= 40


def test_bytes_pil_and_array_inputs(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (5, 3), RED).save(buffer, format="PNG")
    assert load_image(buffer.getvalue()).size == (5, 3)
    assert load_image(Image.new("L", (5, 3), 7)).getpixel((0, 0)) == (7, 7, 7)
    array = np.zeros((3, 5, 3), np.uint8)
    array[..., 2] = 255
    assert load_image(array).getpixel((4, 2)) == BLUE
    with pytest.raises(ImageError, match="uint8"):
        load_image(np.zeros((3, 5, 3), np.float32))
    with pytest.raises(TypeError):
        load_image(12345)  # type: ignore[arg-type]


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.jpg.*empty \(0 bytes\)"):
        load_image(path)
    with pytest.raises(ImageError, match="0 bytes"):
        load_image(b"")


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg.*truncated"):
        load_image(path)


def test_text_file_and_directory(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match=r"notes\.jpg.*not an image"):
        load_image(path)
    with pytest.raises(ImageError, match="directory"):
        load_image(tmp_path)


def test_missing_file_is_image_error_and_file_not_found(tmp_path):
    with pytest.raises(ImageNotFoundError) as info:
        load_image(tmp_path / "gone.png")
    assert isinstance(info.value, ImageError) and isinstance(info.value, FileNotFoundError)
    assert "gone.png" in str(info.value) and "does not exist" in str(info.value)


def test_pixel_limit(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (200, 100)).save(path)
    assert load_image(path, max_pixels=20_000).size == (200, 100)
    with pytest.raises(ImageError, match=r"big\.png.*200x100.*max_pixels"):
        load_image(path, max_pixels=19_999)
    with pytest.raises(ImageError, match="max_pixels"):
        load_image(np.zeros((100, 200, 3), np.uint8), max_pixels=100)


def test_pil_decompression_bomb_becomes_image_error(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (100, 100)).save(path)  # 10 000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    # Over twice PIL's limit: PIL raises DecompressionBombError even with graphrec's limit off.
    with pytest.raises(ImageError, match=r"bomb\.png.*too large"):
        load_image(path, max_pixels=None)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6_000)
    # Between PIL's limit and twice it PIL only warns; graphrec's limit (here equal to PIL's) still refuses.
    with pytest.raises(ImageError, match=r"bomb\.png"):
        load_image(path, max_pixels=6_000)


@pytest.mark.parametrize("size", [(480, 320), (320, 480), (300, 300), (1000, 257), (257, 999), (641, 479), (256, 256)])
def test_resize_center_crop_matches_torchvision_resize_then_center_crop(size):
    from torchvision.transforms.v2 import functional as F

    from graphrec.vision.io import resize_center_crop

    sample = Image.open(SAMPLES / "coffee.jpg").convert("RGB")
    image = sample.resize(size, Image.Resampling.BILINEAR)  # real photo content at many shapes
    two_steps = F.center_crop(F.resize(image, 256, interpolation=F.InterpolationMode.BICUBIC, antialias=True), [224, 224])
    one_pass = resize_center_crop(image, 256, 224)
    assert one_pass.size == two_steps.size == (224, 224)
    diff = np.abs(np.asarray(one_pass, dtype=np.int16) - np.asarray(two_steps, dtype=np.int16))
    assert diff.max() <= 3 and diff.mean() < 0.25  # the same resampling; only rounding differs
    # and the crop is the centre: a shifted box (one resized pixel off) is far more different
    shifted = F.center_crop(F.resize(image, 256, interpolation=F.InterpolationMode.BICUBIC, antialias=True), [226, 226])
    off = np.abs(np.asarray(one_pass, dtype=np.int16) - np.asarray(shifted, dtype=np.int16)[:224, :224]).mean()
    assert off > 4 * diff.mean() + 0.5
