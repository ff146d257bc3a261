"""EfficientNet-Lite0 in ONNX Runtime: same features as torch, an export cached by hash, a clean torch fallback."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from graphrec.errors import BackendUnavailableError, InputError  # noqa: E402
from graphrec.vision import onnx_backend  # noqa: E402
from graphrec.vision.efficientnet import EfficientNetLite0  # noqa: E402

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "data" / "samples").glob("*.jpg"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("graphrec-cache")
    mp.setenv("GRAPHREC_CACHE", str(folder))
    mp.delenv("GRAPHREC_FEATURIZER_BACKEND", raising=False)
    yield folder
    mp.undo()


@pytest.fixture(scope="module")
def both(cache):
    return EfficientNetLite0(backend="onnx"), EfficientNetLite0(backend="torch")


def test_onnx_features_agree_with_torch_on_the_sample_photos(both):
    onnx, torch_ = both
    assert onnx.backend == "onnx" and torch_.backend == "torch"
    assert onnx.name == torch_.name == "efficientnet_lite0" and onnx.dim == torch_.dim == 1280
    assert len(SAMPLES) >= 5
    a, b = onnx.transform(SAMPLES), torch_.transform(SAMPLES)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.999, cosine
    assert not np.allclose(a[0], a[1])  # different photos, different features: the comparison means something
    # the classifier head reads the same Linear whatever runs the network
    np.testing.assert_array_equal(onnx.classifier_head().weight, torch_.classifier_head().weight)
    probs = onnx.classifier_head().probabilities(a)
    assert probs.shape == (len(SAMPLES), 1000)
    assert onnx.describe()["backend"].startswith("onnxruntime") and torch_.describe()["backend"].startswith("torch")


def test_the_feature_store_fingerprint_does_not_depend_on_the_backend(both):
    from graphrec.vision.store import featurizer_fingerprint

    onnx, torch_ = both
    assert featurizer_fingerprint(onnx.describe()) == featurizer_fingerprint(torch_.describe())


def test_export_is_reused_when_its_hash_checks_out_and_redone_when_not(both, cache, monkeypatch):
    onnx, _ = both
    files = sorted(p.name for p in (cache / "onnx").iterdir())
    assert len(files) == 2 and files[1] == files[0] + ".sha256"  # no temp files left
    path = cache / "onnx" / files[0]
    assert onnx.weights_sha256[:16] in path.name and f"opset{onnx_backend.OPSET}" in path.name

    import torch

    def no_export(*args, **kwargs):
        raise AssertionError("a verified export must be reused")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    assert EfficientNetLite0(backend="onnx").backend == "onnx"
    monkeypatch.undo()

    with open(path, "ab") as handle:  # damage it: the hash no longer matches, so it is exported again
        handle.write(b"junk")
    again = EfficientNetLite0(backend="onnx")
    assert again.backend == "onnx"
    assert onnx_backend._verified(path)
    np.testing.assert_allclose(again.transform(SAMPLES[:1]), onnx.transform(SAMPLES[:1]), atol=1e-5)


def test_backend_choice_and_fallback(cache, monkeypatch):
    with pytest.raises(InputError, match="backend must be one of"):
        EfficientNetLite0(backend="tensorrt")  # type: ignore[arg-type]
    monkeypatch.setenv("GRAPHREC_FEATURIZER_BACKEND", "torch")
    assert EfficientNetLite0().backend == "torch"
    monkeypatch.setenv("GRAPHREC_FEATURIZER_BACKEND", "auto")
    assert EfficientNetLite0().backend == "onnx"

    monkeypatch.setattr(onnx_backend, "onnxruntime_available", lambda: False)
    assert EfficientNetLite0().backend == "torch"  # auto without onnxruntime: torch, quietly
    with pytest.raises(BackendUnavailableError, match="pip install onnxruntime"):
        EfficientNetLite0(backend="onnx")
    monkeypatch.undo()

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setenv("GRAPHREC_CACHE", str(cache))
    monkeypatch.setattr(onnx_backend, "export_onnx", broken)
    assert EfficientNetLite0(backend="auto").backend == "torch"  # auto: a failed export falls back to torch
    with pytest.raises(BackendUnavailableError, match="exporter exploded"):
        EfficientNetLite0(backend="onnx")
