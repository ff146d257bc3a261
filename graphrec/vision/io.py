"""Robust image decoding: any path, bytes, PIL image or array in, one RGB ``PIL.Image`` out.

Kept free of torch so that ``import graphrec.vision.io`` stays light (the web server and the
collectors use it).

Errors
------
Every failure raises :class:`graphrec.errors.ImageError` whose message names the input, what was
wrong and the fix. A missing file raises :class:`ImageNotFoundError`, which is both an
``ImageError`` and a ``FileNotFoundError``, so either ``except`` clause catches it.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from graphrec._log import get_logger
from graphrec.errors import ImageError, describe_path

log = get_logger(__name__)

#: Default pixel limit: PIL's own warning threshold (about 89.5 megapixels, a 9459 x 9459 image).
#: Anything larger is refused before its pixels are decoded, so a tiny "decompression bomb" file
#: cannot allocate gigabytes.
DEFAULT_MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)

#: Longest side over shortest side that an image keeps before a featurizer resizes its short side (to
#: 224-256 pixels); past it the long side is centre-cropped to this ratio (:func:`limit_aspect`). The
#: decode limit above bounds the pixels of the file, not of the resize: a 1 x 40,000 PNG (139 KB)
#: resized to a short side of 256 would be 256 x 10,240,000 pixels, 7.9 GB. The featurizers that
#: resize look only at a centre square, so the crop leaves what they see unchanged (up to rounding),
#: and the resized image never exceeds 256 x 1024 pixels whatever the file's shape.
MAX_ASPECT_RATIO = 4.0

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]

__all__ = [
    "DEFAULT_MAX_PIXELS", "MAX_ASPECT_RATIO", "ImageNotFoundError", "ImageSource", "describe_source", "limit_aspect",
    "load_image", "resize_center_crop", "to_rgb",
]


class ImageNotFoundError(ImageError, FileNotFoundError):
    """The image path does not exist (an ``ImageError`` and a ``FileNotFoundError``)."""


def describe_source(src: object) -> str:
    """How messages name an input: the quoted path, or the kind of in-memory object."""
    if isinstance(src, (str, os.PathLike)):
        return describe_path(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src)} bytes>"
    if isinstance(src, Image.Image):
        return f"<PIL image {src.mode} {src.width}x{src.height}>"
    if isinstance(src, np.ndarray):
        return f"<array {src.dtype} {tuple(src.shape)}>"
    return f"<{type(src).__name__}>"


def load_image(src: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode ``src`` into an RGB image, upright according to its EXIF orientation.

    ``src`` is a file path, the bytes of an encoded file, a ``PIL.Image.Image`` or an ``HxWx3``
    (also ``HxW`` grey or ``HxWx4`` RGBA) ``uint8`` array. Modes are converted to RGB: palette and
    grey directly, 16-bit grey (``I;16``, ``I``) scaled from 0..65535 to 0..255, CMYK with PIL's
    conversion, and anything with transparency (RGBA, LA, P with a transparent colour) composited
    on white. Animated files give their first frame; a PIL image passed in gives its current frame.

    ``max_pixels`` (``None``: no graphrec limit; PIL's hard limit of twice ``Image.MAX_IMAGE_PIXELS``
    still applies) refuses larger images before decoding their pixels.

    Raises :class:`ImageError` (or :class:`ImageNotFoundError` for a missing path) naming the input,
    the problem and the fix.
    """
    name = describe_source(src)
    if isinstance(src, Image.Image):
        _check_pixels(src.size, max_pixels, name)
        return to_rgb(_exif_upright(src, name), name)
    if isinstance(src, np.ndarray):
        return _from_array(src, name, max_pixels)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageError(f"image {name} is empty (0 bytes); pass the complete contents of an image file.")
        return _decode(io.BytesIO(bytes(src)), name, max_pixels)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ImageNotFoundError(f"image file {name} does not exist; check the path (relative paths start at {describe_path(os.getcwd())}).") from None
        except OSError as exc:
            raise ImageError(f"image file {name} cannot be read ({exc}); check its permissions.") from exc
        if path.is_dir():
            raise ImageError(f"image path {name} is a directory, not a file; pass the path of an image file.")
        if size == 0:
            raise ImageError(f"image file {name} is empty (0 bytes); the download or copy probably failed, fetch it again.")
        try:
            with open(path, "rb") as handle:
                return _decode(handle, name, max_pixels)
        except PermissionError as exc:
            raise ImageError(f"image file {name} cannot be read ({exc}); check its permissions.") from exc
    raise TypeError(
        f"load_image() takes a path, bytes, a PIL image or an HxWx3 uint8 array; got {type(src).__name__}."
    )


def limit_aspect(image: Image.Image, max_ratio: float = MAX_ASPECT_RATIO) -> Image.Image:
    """``image`` itself when its long side is at most ``max_ratio`` times its short side, else its centre
    cropped to that ratio. Featurizers call it before resizing the short side (see :data:`MAX_ASPECT_RATIO`)."""
    width, height = image.size
    keep = max(1, int(max_ratio * min(width, height)))
    if max(width, height) <= keep:
        return image
    if width > height:
        left = (width - keep) // 2
        return image.crop((left, 0, left + keep, height))
    top = (height - keep) // 2
    return image.crop((0, top, width, top + keep))


def resize_center_crop(image: Image.Image, short_side: int, crop: int) -> Image.Image:
    """``image`` resized (bicubic, antialiased) so its short side is ``short_side``, then its centre ``crop`` x ``crop``
    cut out, as torchvision's ``resize`` then ``center_crop`` do it, in one pass: only the source box that
    becomes the crop is resampled (PIL's ``box``; the filter still reads the pixels around the box), which
    is about half the work on a typical photo. Pixels agree with the two-step result to a level or two.
    """
    width, height = image.size
    if width <= height:
        new_width, new_height = short_side, int(short_side * height / width)
    else:
        new_width, new_height = int(short_side * width / height), short_side
    if min(new_width, new_height) < crop:
        raise ValueError(f"short side {short_side} is smaller than the crop {crop}")
    # torchvision's centre crop offsets (Python's round, as center_crop uses), in resized pixels
    left, top = int(round((new_width - crop) / 2.0)), int(round((new_height - crop) / 2.0))
    scale_x, scale_y = width / new_width, height / new_height
    box = (left * scale_x, top * scale_y, (left + crop) * scale_x, (top + crop) * scale_y)
    return image.resize((crop, crop), Image.Resampling.BICUBIC, box=box)


def _check_pixels(size: tuple[int, int], max_pixels: int | None, name: str) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"image {name} is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels} "
            "(a guard against decompression bombs); downscale it, or pass a larger max_pixels if you trust it."
        )


def _decode(fp: Any, name: str, max_pixels: int | None) -> Image.Image:
    # PIL warns (and above twice its limit raises) while *opening*, from the header alone; turning the
    # warning into an exception refuses bombs before any pixel is decoded. warnings.catch_warnings is
    # process-global, so under threads the filter may briefly be lost: _check_pixels below still
    # refuses the image, only the warning would be logged by Python as well.
    pil_limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            if max_pixels is None or (pil_limit is not None and max_pixels > pil_limit):
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            else:
                warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(
            f"image {name} is too large to decode safely ({exc}); downscale it, or pass a larger max_pixels "
            "(above PIL's hard limit also raise PIL.Image.MAX_IMAGE_PIXELS) if you trust it."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"{name} is not an image PIL can read (unknown or unsupported format); pass a JPEG, PNG, GIF, "
            "WebP, BMP or TIFF file, or re-save it in one of those formats."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"image {name} has a broken header ({exc}); re-download or re-save the file.") from exc

    with image:
        _check_pixels(image.size, max_pixels, name)
        try:
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # the first frame of an animation
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise ImageError(
                f"image {name} could not be decoded ({type(exc).__name__}: {exc}); the file is probably "
                "truncated or corrupt, download or copy it again."
            ) from exc
        upright = _exif_upright(image, name)
        rgb = to_rgb(upright, name)
        # Detach from the file: the caller gets an image that owns its pixels.
        return rgb.copy() if rgb is image else rgb


def _exif_upright(image: Image.Image, name: str) -> Image.Image:
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception as exc:  # a broken EXIF block must not lose an otherwise good picture
        log.warning("image %s: ignoring unreadable EXIF orientation (%s)", name, exc)
        return image
    return image if upright is None else upright


def to_rgb(image: Image.Image, name: str = "<PIL image>") -> Image.Image:
    """Convert any PIL mode to RGB (transparency composited on white, 16-bit scaled to 8-bit)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16") or mode == "I":
        # Scale the full 16-bit range to 8 bits; a plain convert("L") would clip everything above 255
        # to white. Rounding (x + 128) // 257 maps 0 -> 0 and 65535 -> 255 exactly.
        values = np.asarray(image).astype(np.int64)
        grey = np.clip((values + 128) // 257, 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), "RGB")
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        scale = 255.0 if np.nanmax(values, initial=0.0) <= 1.0 else 1.0  # floats in 0..1 or 0..255
        grey = np.clip(np.nan_to_num(values) * scale + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), "RGB")
    # A transparent colour key (P or L with info["transparency"]) is transparency too.
    if mode in ("LA", "La", "PA", "RGBa") or (mode in ("P", "L", "1") and "transparency" in image.info):
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image).convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as exc:
        raise ImageError(
            f"image {name} has pixel mode {mode!r}, which cannot be converted to RGB ({exc}); re-save it as an 8-bit RGB image."
        ) from exc


def _from_array(array: np.ndarray, name: str, max_pixels: int | None) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(
            f"image array {name} is not an HxWx3 uint8 array (also accepted: HxW grey, HxWx4 RGBA); "
            "convert it, e.g. np.clip(a * 255, 0, 255).astype(np.uint8) for floats in 0..1."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"image array {name} has no pixels; pass a non-empty image.")
    _check_pixels((array.shape[1], array.shape[0]), max_pixels, name)
    mode = "L" if array.ndim == 2 else ("RGBA" if array.shape[2] == 4 else "RGB")
    return to_rgb(Image.fromarray(np.ascontiguousarray(array), mode), name)
