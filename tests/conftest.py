"""Shared fixtures: a tiny, hand-made world whose right answers are obvious.

Three themes, each with its own keyword and its own image colour:
snow (雪, white images), moon (月, dark blue images), flower (花, red images).
A white query image must get snow songs; a red one flower songs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("GRAPHREC_NO_PROGRESS", "1")

THEMES = {
    "雪": {"colour": (245, 245, 250), "lines": ["大雪纷飞满山白", "雪落寒林夜无声", "江上孤舟钓寒雪", "雪满梅枝夜色寒"]},
    "月": {"colour": (20, 30, 90), "lines": ["明月几时有", "月照高楼人未眠", "今夜月明人尽望", "床前明月光"]},
    "花": {"colour": (210, 30, 40), "lines": ["桃花依旧笑春风", "花开花落知多少", "一树花红映小园", "落花时节又逢君"]},
}


def make_songs():
    from graphrec.data.songs import Song, SongCorpus

    songs = []
    for word, theme in THEMES.items():
        for i, line in enumerate(theme["lines"]):
            songs.append(
                Song(
                    id=f"{word}-{i}",
                    title=f"{word}之歌其{i}",
                    artist="佚名",
                    lyrics=f"{line}\n{line}，{word}{word}",
                    popularity=float(10 * i + len(word)),
                    source="test",
                )
            )
    return SongCorpus(songs=songs, provenance={"source": "conftest"})


def solid_image(path: Path, colour, seed: int, size: int = 32) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour)[None, None, :] + rng.integers(-12, 13, size=(size, size, 3)), 0, 255)
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(path)
    return path


def make_images(root: Path, per_theme: int = 6):
    from graphrec.data.images import ImageRecord, ImageSet

    root.mkdir(parents=True, exist_ok=True)
    records = []
    for t, (word, theme) in enumerate(THEMES.items()):
        for i in range(per_theme):
            path = solid_image(root / f"{t}-{i}.png", theme["colour"], seed=100 * t + i)
            records.append(ImageRecord(id=f"{word}/{i}", path=str(path), keywords=(word,), weights=(1.0,)))
    return ImageSet(records=records, provenance={"source": "conftest"})


def tiny_config():
    from graphrec.config import BuildConfig
    from graphrec.embed.line import LineConfig
    from graphrec.text.keywords import KeywordConfig

    return BuildConfig(
        keywords=KeywordConfig(vocabulary=tuple(THEMES)),
        # Order 2 alone: on a 3-keyword graph order-1 negatives are mostly the song's own keyword.
        line=LineConfig(dim=16, order=2, negative=5, samples=200_000, seed=7, threads=1),
        featurizer="hsv_hist",
    )


@pytest.fixture(scope="session")
def tiny_recommender(tmp_path_factory):
    from graphrec.recommender import Recommender

    images = make_images(tmp_path_factory.mktemp("tiny-images"))
    return Recommender.build(make_songs(), images, tiny_config(), show_progress=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_recommender, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny-model") / "model"
    tiny_recommender.save(path)
    return path


@pytest.fixture
def query_image(tmp_path):
    """Factory: query_image("雪") writes a fresh image in that theme's colour and returns its path."""

    def make(word: str, seed: int = 999) -> Path:
        return solid_image(tmp_path / f"query-{seed}.png", THEMES[word]["colour"], seed=seed)

    return make
