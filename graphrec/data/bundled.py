"""Paths of the data shipped in the repository's ``data/`` folder (made by ``tools/make_data.py``).

``$GRAPHREC_DATA`` points elsewhere, e.g. for an installed copy whose data lives outside the package.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR: Path = Path(os.environ.get("GRAPHREC_DATA") or Path(__file__).resolve().parents[2] / "data")

SONGS_DIR: Path = DATA_DIR / "songs"
CLASSICAL_SONGS: Path = SONGS_DIR / "classical.jsonl.xz"
IMAGES_DIR: Path = DATA_DIR / "images"
EMOJI_DIR: Path = IMAGES_DIR / "emoji"
EMOJI_MANIFEST: Path = EMOJI_DIR / "manifest.csv"
PHOTOS_DIR: Path = IMAGES_DIR / "photos"  # <source>/<class>/ photos labelled by data/resources/photo_classes.csv
COUNTS_FILE: Path = DATA_DIR / "counts.json"  # what make_data wrote: songs per part, images, sizes
README: Path = DATA_DIR / "README.md"
