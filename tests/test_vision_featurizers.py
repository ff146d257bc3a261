"""Featurizers: known answers for the seeds and GIST, spec parsing, the real EfficientNet-Lite0 weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphrec.errors import ImageError
from graphrec.vision import Featurizer, get_featurizer, parse_spec
from graphrec.vision.gist import Gist
from graphrec.vision.seeds import HsvHist, Pixels16

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _halves(left, right, size=64) -> np.ndarray:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[:, : size // 2] = left
    pixels[:, size // 2 :] = right
    return pixels


def test_pixels16_known_answer():
    features = Pixels16().transform([_halves((0, 0, 0), (255, 255, 255)), np.full((8, 8, 3), 90, np.uint8)])
    assert features.shape == (2, 256) and features.dtype == np.float32
    grid = features[0].reshape(16, 16)
    # Zero mean, unit norm: 128 cells at -1/16 (dark left half) and 128 at +1/16.
    np.testing.assert_allclose(grid[:, :8], -1 / 16, atol=1e-6)
    np.testing.assert_allclose(grid[:, 8:], 1 / 16, atol=1e-6)
    np.testing.assert_array_equal(features[1], 0)  # a flat image has no layout


def test_hsv_hist_known_answer():
    features = HsvHist().transform([np.full((4, 4, 3), (255, 0, 0), np.uint8), _halves((255, 0, 0), (255, 255, 255))])
    assert features.shape == (2, 512) and features.dtype == np.float32
    red = (0 * 8 + 7) * 8 + 7  # hue 0, full saturation, full value
    white = (0 * 8 + 0) * 8 + 7  # no saturation, full value
    expected = np.zeros((2, 512), np.float32)
    expected[0, red] = 1
    expected[1, red] = expected[1, white] = 0.5
    np.testing.assert_allclose(features, expected)


def _orientation_energy(features: np.ndarray, orientations=(8, 8, 4)) -> list[np.ndarray]:
    """Per scale, the energy of each orientation summed over channels and cells."""
    filters = features.reshape(3, sum(orientations), 16).sum(axis=(0, 2))
    out, start = [], 0
    for n in orientations:
        out.append(filters[start : start + n])
        start += n
    return out


def test_gist_orientation_follows_the_stripes():
    pixels = np.zeros((128, 128, 3), np.uint8)
    pixels[:, (np.arange(128) // 4) % 2 == 0] = 255  # vertical stripes: intensity varies along x
    gist = Gist()
    vertical, horizontal = gist.transform([pixels, np.ascontiguousarray(np.rot90(pixels))])
    assert gist.dim == 960 and vertical.shape == (960,) and vertical.dtype == np.float32
    for scale, (v, h) in enumerate(zip(_orientation_energy(vertical), _orientation_energy(horizontal))):
        n = len(v)
        assert int(np.argmax(v)) == 0, f"scale {scale}: vertical stripes should peak at orientation 0, got {v}"
        assert int(np.argmax(h)) == n // 2, f"scale {scale}: rotated stripes should peak at orientation {n // 2}, got {h}"
        assert v[0] > 5 * v[n // 2] and h[n // 2] > 5 * h[0]
    # Stripes cover the whole picture: every cell of the peak filter responds about equally.
    cells = vertical.reshape(3, 20, 16)[0, 8]
    assert cells.min() > 0.5 * cells.max()


def test_gist_colour_channels_are_separate():
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:, (np.arange(64) // 4) % 2 == 0, 0] = 255  # stripes in red only, green and blue flat
    features = Gist().transform([pixels])[0].reshape(3, 20, 16)
    assert features[0].sum() > 10 * features[1].sum()
    np.testing.assert_allclose(features[1], features[2], rtol=1e-4, atol=1e-6)


def test_spec_parsing_and_combination():
    assert parse_spec("gist:0.5+hsv_hist:1") == [("gist", 0.5), ("hsv_hist", 1.0)]
    assert parse_spec(" gist + hsv_hist ") == [("gist", 1.0), ("hsv_hist", 1.0)]
    combined = get_featurizer("pixels16:0.5+hsv_hist:2")
    assert combined.name == "pixels16:0.5+hsv_hist:2" and combined.dim == 256 + 512
    assert get_featurizer(combined.name).name == combined.name
    assert get_featurizer("pixels16+hsv_hist").name == "pixels16+hsv_hist"
    features = combined.transform([_halves((0, 0, 0), (255, 255, 255)), _halves((255, 0, 0), (0, 0, 255))])
    assert features.shape == (2, 768)
    np.testing.assert_allclose(np.linalg.norm(features[:, :256], axis=1), 0.5, rtol=1e-5)  # each part: unit norm x weight
    np.testing.assert_allclose(np.linalg.norm(features[:, 256:], axis=1), 2.0, rtol=1e-5)
    hist = HsvHist().transform([_halves((255, 0, 0), (0, 0, 255))])[0]
    np.testing.assert_allclose(features[1, 256:], 2 * hist / np.linalg.norm(hist), rtol=1e-5)


@pytest.mark.parametrize("spec, message", [
    ("resnet50", "valid names: efficientnet_lite0, vgg19_fc7"),
    ("gist+nope", "unknown featurizer 'nope'"),
    ("gist:abc+hsv_hist", "not a number"),
    ("gist:-1+hsv_hist", "positive"),
    ("gist+gist", "twice"),
    ("", "non-empty"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        get_featurizer(spec)


def test_every_seed_follows_the_protocol(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    for spec in ("pixels16", "hsv_hist", "gist", "gist+hsv_hist"):
        featurizer = get_featurizer(spec)
        assert isinstance(featurizer, Featurizer)
        assert featurizer.describe()["dim"] == featurizer.dim
        assert get_featurizer(featurizer.name).dim == featurizer.dim
        with pytest.raises(ImageError, match="bad.png"):
            featurizer.transform([bad])
        assert featurizer.transform([]).shape == (0, featurizer.dim)


def test_efficientnet_lite0_real_weights():
    featurizer = get_featurizer("efficientnet_lite0")
    assert featurizer.describe()["weights_sha256"].startswith("57934424")
    probs = featurizer.classify([SAMPLES / "coffee.jpg"])
    from torchvision.models import VGG19_Weights  # only for ImageNet's class names

    categories = VGG19_Weights.IMAGENET1K_V1.meta["categories"]
    assert categories[int(probs[0].argmax())] == "espresso" and probs[0].max() > 0.8
    features = featurizer.transform([SAMPLES / "coffee.jpg", SAMPLES / "chelsea.jpg"])
    assert features.shape == (2, 1280) and features.dtype == np.float32
    np.testing.assert_array_equal(features, featurizer.transform([SAMPLES / "coffee.jpg", SAMPLES / "chelsea.jpg"]))
    assert (features >= 0).all() and (features <= 6).all()  # averages of ReLU6 outputs
    assert not np.allclose(features[0], features[1])
