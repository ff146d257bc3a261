"""ONNX Runtime for the default featurizer: the torch network exported once into the user cache.

EfficientNet-Lite0's torch module runs its batch norms unfused and its TF "SAME" padding as separate
modules; ONNX Runtime folds the batch norms into the convolutions and fuses the padding, and on a
CPU runs the same network about three times as fast. The torch path stays the reference (and the
path on a GPU); :func:`export_onnx` turns the torch module into ``<cache>/onnx/<name>.onnx``:

* the file name holds what the file depends on: the weights' sha256, the ONNX opset and graphrec's
  version, so new weights or a new exporter never reuse an old file;
* it is written atomically (temp name, then rename) and its own sha256 goes into a sidecar
  ``.sha256`` written after it; a file is reused only when its sha256 matches the sidecar, so a
  torn or edited export is made again rather than run.

The exported graph takes ``(batch, 3, 224, 224)`` float32 (what ``prepare`` makes) and gives the
pooled ``(batch, 1280)`` features: ``extract_features(x).mean((2, 3))``, the same layer as torch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from graphrec._env import cache_dir, cpu_count
from graphrec._io import atomic_path, atomic_write_text, sha256_file
from graphrec._log import get_logger
from graphrec._version import __version__
from graphrec.errors import BackendUnavailableError

log = get_logger(__name__)

OPSET = 17
INSTALL_HINT = "install it with `pip install onnxruntime onnx` (both come with graphrec's default install)"


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime can be imported here (``backend="auto"`` then uses it on a CPU)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_path(name: str, weights_sha256: str, *, opset: int = OPSET) -> Path:
    """Where the export of network ``name`` with these weights lives in the cache."""
    return cache_dir("onnx") / f"{name}-{weights_sha256[:16]}-opset{opset}-graphrec{__version__}.onnx"


def _verified(path: Path) -> bool:
    sidecar = path.with_name(path.name + ".sha256")
    try:
        expected = sidecar.read_text(encoding="utf-8").strip()
        return bool(expected) and sha256_file(path) == expected
    except OSError:
        return False


def export_onnx(module: Any, path: Path, *, input_shape: tuple[int, ...], opset: int = OPSET) -> Path:
    """``path`` holding ``module`` exported to ONNX (batch axis dynamic): reused when its sha256 checks out, else exported."""
    if _verified(path):
        return path
    import torch

    if path.exists():
        log.warning("ONNX file %s does not match its recorded sha256; exporting it again", path)
    with atomic_path(path) as tmp:
        # the TorchScript exporter: no onnxscript needed, and it handles the static TF padding as plain Pad ops
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation and tracer notices are about the exporter, not this network
            torch.onnx.export(
                module.eval(), (torch.zeros(input_shape),), str(tmp), dynamo=False, opset_version=opset,
                input_names=["image"], output_names=["features"],
                dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
            )
        digest = sha256_file(tmp)
    atomic_write_text(path.with_name(path.name + ".sha256"), digest + "\n")
    log.info("exported %s to ONNX (opset %d), sha256 %s", path.name, opset, digest[:12])
    return path


class OnnxSession:
    """One ONNX Runtime CPU session over an exported network: ``session(batch) -> features``."""

    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailableError(f"the ONNX backend needs the package onnxruntime, which is not importable here; {INSTALL_HINT}.") from exc
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or cpu_count()
        options.inter_op_num_threads = 1
        # Threads that spin while waiting for work take CPU from the decode workers on small machines.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.version = ort.__version__
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)


__all__ = ["INSTALL_HINT", "OPSET", "OnnxSession", "export_onnx", "onnx_path", "onnxruntime_available"]
