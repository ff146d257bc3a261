"""Album covers the tests draw themselves: each genre has its own colour and texture, so the right answer is obvious.

* metal: dark red with diagonal stripes;
* electronic: blue with a checkerboard;
* country: green and cream horizontal bands.

Every cover varies (seeded): stripe period and phase, a colour shift, pixel noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

STYLES = {
    "metal": {"colour": (150, 20, 25), "other": (20, 5, 5), "pattern": "diagonal"},
    "electronic": {"colour": (30, 60, 210), "other": (200, 220, 255), "pattern": "checker"},
    "country": {"colour": (60, 170, 60), "other": (245, 240, 200), "pattern": "bands"},
}
REAL_COVERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "covers"


def draw_cover(genre: str, seed: int, size: int = 64) -> Image.Image:
    style = STYLES[genre]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    period = int(rng.integers(6, 12))
    phase = int(rng.integers(0, period))
    if style["pattern"] == "diagonal":
        mask = ((xx + yy + phase) // (period // 2)) % 2 == 0
    elif style["pattern"] == "checker":
        mask = ((xx + phase) // period + (yy + phase) // period) % 2 == 0
    else:
        mask = ((yy + phase) // period) % 2 == 0
    shift = rng.integers(-10, 11, size=3)
    pixels = np.where(mask[..., None], np.array(style["colour"]) + shift, np.array(style["other"]) + shift)
    pixels = np.clip(pixels + rng.integers(-30, 31, size=(size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def draw_covers(root: Path, per_genre: int = 10, genres=tuple(STYLES), seed: int = 0, size: int = 64) -> Path:
    """Write ``root/<genre>/<n>.png`` for each genre and return ``root``."""
    for g, genre in enumerate(genres):
        folder = root / genre
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_genre):
            draw_cover(genre, seed=seed * 100_000 + g * 1000 + i, size=size).save(folder / f"{genre}-{i:03d}.png")
    return root


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every covers test caches features under its own tmp_path, never in the user's ~/.cache."""
    monkeypatch.setenv("GRAPHREC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
