"""A montage PNG: the query cover, then its neighbours in a grid, each captioned (genre, distance)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from graphrec._io import atomic_write_bytes
from graphrec._log import get_logger
from graphrec.errors import GraphrecError
from graphrec.vision.io import load_image

log = get_logger(__name__)

_CAPTION = 18  # pixels under each tile for its caption
_GAP = 6


def _tile(source: Any, size: int) -> Image.Image:
    try:
        image = load_image(source)
    except (GraphrecError, OSError) as exc:
        log.warning("montage: %s could not be read (%s); drawing an empty tile", source, exc)
        return Image.new("RGB", (size, size), (200, 200, 200))
    image = ImageOps.contain(image, (size, size), Image.Resampling.LANCZOS)  # shrinks or enlarges, keeps the aspect
    tile = Image.new("RGB", (size, size), (255, 255, 255))
    tile.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
    return tile


def write_montage(
    query: Any,
    neighbours: Sequence[tuple[Any, str]],
    out: str | os.PathLike[str],
    *,
    query_caption: str = "query",
    tile: int = 160,
    columns: int = 5,
) -> Path:
    """Write ``out`` (PNG): ``query`` large on the left, ``neighbours`` = ``[(image, caption), ...]`` in rows.

    Images are paths or anything ``load_image`` takes; an unreadable one becomes a grey tile.
    """
    if tile < 16 or columns < 1:
        raise ValueError(f"tile must be >= 16 pixels and columns >= 1, got tile={tile}, columns={columns}.")
    rows = max(1, -(-len(neighbours) // columns))
    big = rows * (tile + _CAPTION) + (rows - 1) * _GAP - _CAPTION
    width = big + _GAP * 3 + columns * (tile + _GAP)
    height = rows * (tile + _CAPTION + _GAP) + _GAP
    canvas = Image.new("RGB", (width, height + _CAPTION), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    canvas.paste(_tile(query, big), (_GAP, _GAP))
    draw.text((_GAP, _GAP + big + 2), query_caption, fill=(0, 0, 0), font=font)
    left = big + _GAP * 3
    for n, (source, caption) in enumerate(neighbours):
        r, c = divmod(n, columns)
        x = left + c * (tile + _GAP)
        y = _GAP + r * (tile + _CAPTION + _GAP)
        canvas.paste(_tile(source, tile), (x, y))
        draw.text((x, y + tile + 2), caption, fill=(0, 0, 0), font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    atomic_write_bytes(out, buffer.getvalue())
    return Path(out)
