"""Turn downloaded bytes into a checked, bounded thumbnail file named by its content."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from graphrec._io import atomic_write_bytes, sha256_bytes
from graphrec.errors import ImageError

# Vector and container formats we cannot decode into pixels; rejecting them by type saves a download.
UNDECODABLE_TYPES = frozenset({"image/svg+xml", "image/vnd.djvu", "image/x-djvu", "image/vnd.microsoft.icon"})
# Servers that do not know what they send; the decode check decides.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# Formats whose pictures are mostly drawings: kept lossless so flat colours do not ring.
LOSSLESS_TYPES = frozenset({"image/png", "image/gif"})


def accept_content_type(content_type: str) -> bool:
    """Whether a response with this Content-Type is worth reading as an image."""
    if content_type in UNKNOWN_TYPES:
        return True
    return content_type.startswith("image/") and content_type not in UNDECODABLE_TYPES


def is_image_mime(mime: str) -> bool:
    """Whether a search hit's reported MIME type can give a picture (an unknown type gets the benefit of the doubt)."""
    return not mime or (mime.startswith("image/") and mime != "image/vnd.djvu")


def decode(data: bytes, *, max_pixels: int) -> Image.Image:
    """RGB pixels of ``data``, or ImageError; the shared loader guards against decompression bombs."""
    try:
        from graphrec.vision.io import load_image
    except ModuleNotFoundError as exc:  # pragma: no cover - only until graphrec.vision.io is committed
        if exc.name != "graphrec.vision.io":
            raise
        return _decode_with_pil(data, max_pixels=max_pixels)
    return load_image(data, max_pixels=max_pixels)


def _decode_with_pil(data: bytes, *, max_pixels: int) -> Image.Image:  # pragma: no cover - see decode()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise ImageError(f"downloaded image is {width}x{height}, more than {max_pixels} pixels; raise max_pixels to accept it.")
            probe.load()
            return probe.convert("RGB")
    except ImageError:
        raise
    except Exception as exc:  # PIL raises many types for bad data
        raise ImageError(f"downloaded bytes are not a decodable image ({type(exc).__name__}: {exc}).") from exc


@dataclass(frozen=True)
class SavedImage:
    relpath: str  # relative to the output folder, "/"-separated
    sha256: str  # of the saved file
    width: int
    height: int


def save_thumbnail(image: Image.Image, out_dir: Path, source_sha256: str, *, thumb_size: int, lossless: bool) -> SavedImage:
    """Shrink to ``thumb_size`` px on the longest side (never enlarge) and write it atomically.

    The name comes from the downloaded bytes' hash, so a re-run that meets the same image writes
    the same file, and two keywords sharing an image share one file.
    """
    thumb = image.copy()
    thumb.thumbnail((thumb_size, thumb_size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if lossless:
        thumb.save(buffer, format="PNG", optimize=True)
        suffix = "png"
    else:
        thumb.save(buffer, format="JPEG", quality=90, optimize=True)
        suffix = "jpg"
    data = buffer.getvalue()
    relpath = f"files/{source_sha256[:2]}/{source_sha256[:32]}.{suffix}"
    atomic_write_bytes(out_dir / relpath, data)
    return SavedImage(relpath=relpath, sha256=sha256_bytes(data), width=thumb.width, height=thumb.height)
