"""VGG-19 fc7: shapes with weights=None, the weights search order, hash checks and the missing-weights message."""

from __future__ import annotations

import logging
import urllib.error

import numpy as np
import pytest

from graphrec._io import sha256_file
from graphrec.errors import MissingWeightsError
from graphrec.vision.vgg import ENV_VAR, VGG19Fc7
from graphrec.vision.weights import verify_weights_file

torch = pytest.importorskip("torch")


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (40, 60, 3), dtype=np.uint8), rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def random_vgg():
    """One random-weight VGG for the module (its init is the slow part); keeps the warnings it logged."""
    records = _Records()
    logger = logging.getLogger("graphrec")
    logger.addHandler(records)
    try:
        featurizer = VGG19Fc7(weights=None)
    finally:
        logger.removeHandler(records)
    featurizer.logged = records.messages
    return featurizer


def test_fc7_shape_dtype_with_random_weights(random_vgg):
    assert any("mean nothing" in m for m in random_vgg.logged)
    fc7 = random_vgg.transform(_images())
    assert random_vgg.name == "vgg19_fc7"
    assert fc7.shape == (2, 4096) and fc7.dtype == np.float32
    assert (fc7 >= 0).all() and (fc7 > 0).any()  # after the ReLU
    assert random_vgg.describe()["weights"] is None and random_vgg.describe()["preprocessing"]["crop"] == 224


def _hashed_copy(tmp_path, obj, stem: str):
    """Save ``obj`` as ``<stem>-<sha256 prefix>.pth``, the torchvision naming the hash check reads."""
    raw = tmp_path / f"{stem}.tmp"
    torch.save(obj, raw)
    digest = sha256_file(raw)
    path = tmp_path / f"{stem}-{digest[:8]}.pth"
    raw.rename(path)
    return path, digest


def test_hash_check_passes_then_fails_after_corruption(tmp_path):
    path, digest = _hashed_copy(tmp_path, {"w": torch.zeros(3)}, "tiny")
    assert verify_weights_file(path) == digest
    # Hash fine but not a VGG: refused with a clear message, never half-loaded.
    with pytest.raises(MissingWeightsError, match="not a torchvision VGG-19 state dict"):
        VGG19Fc7(weights_path=path)
    with open(path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(MissingWeightsError, match=r"corrupt.*delete it and download it again"):
        verify_weights_file(path)
    with pytest.raises(MissingWeightsError, match="corrupt"):
        VGG19Fc7(weights_path=path)


@pytest.mark.slow  # writes and hashes a full 548 MB state dict (about 10 s)
def test_full_state_dict_loads_and_fc7_is_relu_of_pre_relu(tmp_path, monkeypatch, random_vgg):
    # The random model's weights plus a dummy final classifier layer make a complete VGG-19 state dict.
    state = dict(random_vgg.model.state_dict())
    state["classifier.6.weight"] = torch.zeros(1000, 4096)
    state["classifier.6.bias"] = torch.zeros(1000)
    path, digest = _hashed_copy(tmp_path, state, "vgg19-test")
    del state
    monkeypatch.setenv(ENV_VAR, str(path))
    loaded = VGG19Fc7()  # found through the environment variable
    assert loaded.pretrained and loaded.describe()["weights_sha256"] == digest
    fc7 = random_vgg.transform(_images())
    np.testing.assert_allclose(loaded.transform(_images()), fc7, rtol=1e-5, atol=1e-6)
    pre = VGG19Fc7(weights_path=path, layer="fc7_pre_relu")
    assert pre.name == "vgg19_fc7_pre_relu"
    before = pre.transform(_images())
    assert (before < 0).any()
    np.testing.assert_allclose(fc7, np.maximum(before, 0), rtol=1e-5, atol=1e-6)


def _no_weights_anywhere(tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))

    def blocked(url, *args, **kwargs):
        raise urllib.error.URLError("network blocked by the test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", blocked)
    return hub


def test_missing_weights_message_says_where_to_put_which_file(tmp_path, monkeypatch):
    hub = _no_weights_anywhere(tmp_path, monkeypatch)
    with pytest.raises(MissingWeightsError) as info:
        VGG19Fc7()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "network blocked by the test" in message
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    assert str(hub / "checkpoints" / "vgg19-dcbb9e9d.pth") in message
    assert ENV_VAR in message and "weights_path" in message
    with pytest.raises(MissingWeightsError, match="download=False"):
        VGG19Fc7(download=False)


def test_hub_cache_is_used_before_download(tmp_path, monkeypatch):
    hub = _no_weights_anywhere(tmp_path, monkeypatch)
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / "vgg19-dcbb9e9d.pth").write_bytes(b"not the real file")
    # Found in the cache (so no download attempt) and refused by its hash.
    with pytest.raises(MissingWeightsError, match=r"vgg19-dcbb9e9d\.pth.*corrupt"):
        VGG19Fc7()


def test_explicit_locations_that_do_not_exist(tmp_path, monkeypatch):
    _no_weights_anywhere(tmp_path, monkeypatch)
    with pytest.raises(MissingWeightsError, match=r"nowhere\.pth.*weights_path"):
        VGG19Fc7(weights_path=tmp_path / "nowhere.pth")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "also-nowhere.pth"))
    with pytest.raises(MissingWeightsError, match=rf"also-nowhere\.pth.*{ENV_VAR}"):
        VGG19Fc7()
