"""Plumbing shared by the experiment scripts: data loading, cached image features, git-tracked metadata."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python experiments/x.py` from a checkout
    sys.path.insert(0, str(ROOT))



def default_cache_dir() -> Path:
    from graphrec._env import cache_dir

    return cache_dir("experiments")


def load_data(songs_path: str | None, images_path: str | None):
    from graphrec.data.images import load_default_images, read_images
    from graphrec.data.songs import load_default_songs, read_songs

    songs = read_songs(songs_path) if songs_path else load_default_songs()
    images = read_images(images_path) if images_path else load_default_images()
    return songs, images


def data_description(songs, images, songs_path: str | None, images_path: str | None) -> dict[str, Any]:
    return {
        "songs": songs_path or "shipped classical corpus (data/songs)",
        "songs_count": len(songs),
        "images": images_path or "shipped images (data/images: weather photos)",
        "images_count": len(images),
    }


def cached_features(featurizer, images, cache_dir: Path, *, show_progress: bool | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Features of every image (rows in ``images`` order, zeros where unreadable) and a readable mask.

    Stored per featurizer (name and fingerprint) under ``cache_dir/features`` with graphrec.vision's resumable store, keyed by
    path, size and time: every ablation and re-run featurises each image once, subsets included.
    """
    from graphrec.vision import extract_features
    from graphrec.vision.store import store_dir_for

    store = store_dir_for(featurizer.name, featurizer.describe(), cache_dir)
    start = time.perf_counter()
    paths = [record.path for record in images]
    batch = extract_features(featurizer, paths, store_dir=store, show_progress=show_progress)
    features = np.zeros((len(paths), featurizer.dim), dtype=np.float32)
    features[batch.ok] = batch.features
    ok = np.zeros(len(paths), dtype=bool)
    ok[batch.ok] = True
    info = {
        "featurizer": featurizer.name,
        "images": len(paths),
        "failures": [list(f) for f in batch.failures],
        "seconds": round(time.perf_counter() - start, 1),
        "store": str(store),
    }
    return features, ok, info
