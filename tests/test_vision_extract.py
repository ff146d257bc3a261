"""extract_features: bad files skipped, input order kept, the resumable store survives kill -9."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from graphrec.errors import InputError
from graphrec.vision import extract_features
from graphrec.vision.base import TorchFeaturizer
from graphrec.vision.seeds import HsvHist, Pixels16


def _write_images(root: Path, n: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    paths = []
    for i in range(n):
        path = root / f"img-{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


class CountingPixels(Pixels16):
    """pixels16 that counts how many images it computed (same name: shares a store with pixels16)."""

    def __init__(self) -> None:
        self.computed = 0

    def compute(self, items):
        self.computed += len(items)
        return super().compute(items)


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_files_are_reported_and_skipped(tmp_path, workers):
    good = _write_images(tmp_path / "ok", 5)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("hello")
    paths = [good[0], empty, good[1], tmp_path / "missing.png", good[2], text, good[3], good[4]]
    batch = extract_features(HsvHist(), paths, batch_size=3, workers=workers, show_progress=False)
    assert batch.ok == [0, 2, 4, 6, 7]
    np.testing.assert_allclose(batch.features, HsvHist().transform(good))
    reasons = dict(batch.failures)
    assert list(reasons) == [str(empty), str(tmp_path / "missing.png"), str(text)]
    assert "0 bytes" in reasons[str(empty)] and "does not exist" in reasons[str(tmp_path / "missing.png")]
    assert "not an image" in reasons[str(text)]


class TinyConv(TorchFeaturizer):
    """A small torch featurizer to exercise the DataLoader path without a big model."""

    name = "tiny_conv"
    dim = 4

    def __init__(self) -> None:
        import torch

        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()

    def prepare(self, image):
        from torchvision.transforms.v2 import functional as F

        return F.to_dtype(F.pil_to_tensor(image.resize((16, 16))), scale=True)

    def describe(self):
        return {"name": self.name, "dim": self.dim}


def test_torch_dataloader_path_keeps_order_and_skips_failures(tmp_path):
    paths = _write_images(tmp_path, 7)
    bad = tmp_path / "bad.png"
    bad.write_text("x")
    inputs = paths[:3] + [bad] + paths[3:]
    featurizer = TinyConv()
    batch = extract_features(featurizer, inputs, batch_size=2, workers=1, device="cpu", show_progress=False)
    assert batch.ok == [0, 1, 2, 4, 5, 6, 7]
    assert [p for p, _ in batch.failures] == [str(bad)]
    np.testing.assert_allclose(batch.features, featurizer.transform(paths), rtol=1e-5, atol=1e-6)


def test_duplicates_and_float16(tmp_path):
    paths = _write_images(tmp_path, 3)
    featurizer = CountingPixels()
    batch = extract_features(featurizer, [paths[0], paths[1], paths[0], paths[2]], dtype="float16", show_progress=False)
    assert featurizer.computed == 3 and batch.ok == [0, 1, 2, 3]
    assert batch.features.dtype == np.float16
    np.testing.assert_array_equal(batch.features[0], batch.features[2])
    np.testing.assert_allclose(batch.features, Pixels16().transform([paths[0], paths[1], paths[0], paths[2]]), atol=1e-3)


def test_store_reuses_rows_and_recomputes_changed_files(tmp_path):
    paths = _write_images(tmp_path / "img", 10)
    store = tmp_path / "store"
    first = extract_features(CountingPixels(), paths, store_dir=store, chunk_size=3, show_progress=False)
    assert len(list(store.glob("chunk-*.npz"))) == 4  # 3 + 3 + 3 + 1
    again = CountingPixels()
    second = extract_features(again, paths, store_dir=store, chunk_size=3, show_progress=False)
    assert again.computed == 0
    np.testing.assert_array_equal(first.features, second.features)

    Image.new("RGB", (12, 12), (250, 0, 0)).save(paths[4])  # edited: size/mtime change
    os.utime(paths[4], ns=(time.time_ns(), time.time_ns() + 10**9))
    third_counter = CountingPixels()
    third = extract_features(third_counter, paths, store_dir=store, chunk_size=3, show_progress=False)
    assert third_counter.computed == 1
    np.testing.assert_allclose(third.features[4], Pixels16().transform([paths[4]])[0])

    with pytest.raises(InputError, match=r"holds features of 'pixels16'.*not of 'hsv_hist'"):
        extract_features(HsvHist(), paths, store_dir=store, show_progress=False)


_KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from graphrec.vision import extract_features
    from graphrec.vision.seeds import Pixels16

    class Slow(Pixels16):  # same name as pixels16, so the re-run can share its store
        def compute(self, items):
            time.sleep(0.15)
            return super().compute(items)

    store, *paths = sys.argv[1:]
    extract_features(Slow(), paths, batch_size=2, chunk_size=4, workers=0, store_dir=store, show_progress=False)
    """
)


def test_store_survives_sigkill_and_rerun_completes_each_image_once(tmp_path):
    paths = _write_images(tmp_path / "img", 40)
    store = tmp_path / "store"
    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), str(store), *map(str, paths)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while len(list(store.glob("chunk-*.npz"))) < 2:
            assert proc.poll() is None, f"the run ended (rc {proc.returncode}) before it could be killed"
            assert time.monotonic() < deadline, "no chunk was written within 60 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    def stored_keys() -> list[str]:
        keys = []
        for chunk in sorted(store.glob("chunk-*.npz")):
            with np.load(chunk, allow_pickle=False) as data:
                keys += data["keys"].tolist()
        return keys

    done_before = len(stored_keys())
    assert 8 <= done_before < 40  # killed mid-run: some chunks durable, not all

    counter = CountingPixels()
    batch = extract_features(counter, paths, batch_size=2, chunk_size=4, store_dir=store, show_progress=False)
    assert counter.computed == 40 - done_before  # only what was missing
    assert batch.ok == list(range(40)) and not batch.failures
    np.testing.assert_allclose(batch.features, Pixels16().transform(paths), rtol=1e-6)
    counts = collections.Counter(stored_keys())
    assert sorted(counts) == sorted(os.path.abspath(p) for p in paths)
    assert set(counts.values()) == {1}  # every image exactly once on disk
    assert not list(store.glob(".*.tmp"))


# --------------------------------------------------------------------------- the streaming pipeline


def test_iter_features_batches_are_consecutive_and_account_for_every_input(tmp_path):
    from graphrec.vision.pipeline import iter_features

    good = _write_images(tmp_path / "ok", 5)
    broken = tmp_path / "broken.png"
    broken.write_text("not a png")
    sources = [good[0], good[1], broken, good[2], good[3], good[4], tmp_path / "gone.jpg"]
    batches = list(iter_features(HsvHist(), sources, batch_size=3, workers=2))
    assert [b.ok + b.failed for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]  # ok first, then the failures
    assert [b.failed for b in batches] == [[2], [], [6]]
    assert batches[0].failures[0][0] == str(broken) and "not an image" in batches[0].failures[0][1]
    rows = np.vstack([b.features for b in batches])
    np.testing.assert_allclose(rows, HsvHist().transform(good))
    assert batches[2].features.shape == (0, HsvHist().dim)


def test_iter_features_stops_decoding_when_closed_early(tmp_path):
    from graphrec.vision.pipeline import iter_features

    decoded = []

    class Watching(HsvHist):
        def load(self, src, *, max_pixels=None):
            decoded.append(src)
            return super().load(src, max_pixels=max_pixels)

    paths = _write_images(tmp_path, 60)
    batches = iter_features(Watching(), paths, batch_size=2, workers=1)
    next(batches)
    batches.close()
    time.sleep(0.2)
    assert len(decoded) < len(paths)  # the lookahead window, not the whole list


class ProtocolOnly:
    """A featurizer written against the Featurizer protocol alone (no BaseFeaturizer): the mean colour."""

    name = "mean_rgb"
    dim = 3
    uses_torch = False

    def to(self, device):
        return self

    def load(self, src, *, max_pixels=None):
        from graphrec.vision.io import load_image

        return np.asarray(load_image(src), dtype=np.float32).mean(axis=(0, 1))

    def compute(self, items):
        return np.stack(items).astype(np.float32)

    def transform(self, images):
        return self.compute([self.load(x) for x in images])

    def describe(self):
        return {"name": self.name}


def test_a_featurizer_that_meets_the_protocol_runs_in_the_pipeline(tmp_path):
    from graphrec.vision.base import Featurizer

    featurizer = ProtocolOnly()
    assert isinstance(featurizer, Featurizer)
    paths = _write_images(tmp_path, 4)
    batch = extract_features(featurizer, paths + [tmp_path / "missing.png"], batch_size=2, store_dir=tmp_path / "store", show_progress=False)
    assert batch.ok == [0, 1, 2, 3] and batch.failed == [4]
    np.testing.assert_allclose(batch.features, featurizer.transform(paths), rtol=1e-6)


class WhereDecoded(ProtocolOnly):
    """Records the process and thread each image was decoded in (returned with the item)."""

    def load(self, src, *, max_pixels=None):
        import threading

        return np.array([os.getpid(), threading.get_ident()], dtype=np.float64), super().load(src, max_pixels=max_pixels)

    def compute(self, items):
        self.places = [tuple(int(v) for v in where) for where, _ in items]
        return np.stack([item for _, item in items]).astype(np.float32)


@pytest.mark.parametrize("in_processes", [False, True])
def test_the_pipeline_decodes_in_threads_or_worker_processes_as_the_featurizer_asks(tmp_path, in_processes):
    import threading

    from graphrec.vision.pipeline import iter_features

    featurizer = WhereDecoded()
    featurizer.uses_torch = True  # without decode_in_processes, a torch featurizer gets worker processes
    featurizer.decode_in_processes = in_processes
    paths = _write_images(tmp_path, 6)
    places = set()
    for _ in iter_features(featurizer, paths, batch_size=3, workers=1, device="cpu"):
        places.update(featurizer.places)
    pids = {pid for pid, _ in places}
    if in_processes:
        assert os.getpid() not in pids  # a DataLoader worker process
    else:
        assert pids == {os.getpid()} and threading.get_ident() not in {tid for _, tid in places}  # a decoding thread


def test_efficientnet_decodes_in_threads_for_onnx_runtime_and_in_processes_for_torch():
    from graphrec.vision.efficientnet import EfficientNetLite0

    assert EfficientNetLite0(backend="torch").decode_in_processes
    assert not EfficientNetLite0(backend="onnx").decode_in_processes
