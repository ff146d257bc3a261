"""VGG-19 fc7 features, as in Hsia et al. (RecSys 2018).

torchvision's ``vgg19`` with ``VGG19_Weights.IMAGENET1K_V1`` and that enum's own preprocessing
(resize the short side to 256 bilinear, centre-crop 224, ImageNet mean/std). The feature is the
output of the ReLU after the classifier's second Linear layer ("fc7", 4096-d); ``layer="fc7_pre_relu"``
gives the Linear output before that ReLU. Dropout is inactive (eval mode).

Weights are looked up, in order: an explicit ``weights_path``; ``$GRAPHREC_VGG19_WEIGHTS``; torch's
hub cache ``<torch.hub.get_dir()>/checkpoints/vgg19-dcbb9e9d.pth``; torchvision's own download.
Each file is checked against the sha256 prefix in its name. Nothing found: MissingWeightsError
saying where to put the file; random weights are never used silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from graphrec._log import get_logger
from graphrec.errors import MissingWeightsError, describe_path
from graphrec.vision.base import TorchFeaturizer, resolve_device
from graphrec.vision.heads import ClassifierHead, imagenet_categories
from graphrec.vision.io import limit_aspect
from graphrec.vision.weights import hub_checkpoint_path, verify_weights_file

log = get_logger(__name__)

ENV_VAR = "GRAPHREC_VGG19_WEIGHTS"
_DEFAULT = "IMAGENET1K_V1"
Layer = Literal["fc7", "fc7_pre_relu"]


class VGG19Fc7(TorchFeaturizer):
    """4096-d fc7 features of torchvision's ImageNet VGG-19.

    ``weights=None`` builds the network with random (seeded) weights: same speed, meaningless
    features; for tests and benchmarks only, and it logs a warning.
    """

    dim = 4096

    def __init__(
        self,
        weights: str | None = _DEFAULT,
        *,
        weights_path: str | os.PathLike[str] | None = None,
        layer: Layer = "fc7",
        device: str = "cpu",
        download: bool = True,
        seed: int = 0,
    ) -> None:
        import torch
        from torchvision.models import VGG19_Weights, vgg19

        if layer not in ("fc7", "fc7_pre_relu"):
            raise ValueError(f"layer must be 'fc7' or 'fc7_pre_relu', got {layer!r}.")
        if weights is not None and weights != _DEFAULT and weights is not VGG19_Weights.IMAGENET1K_V1:
            raise ValueError(f"weights must be 'IMAGENET1K_V1' or None, got {weights!r}.")
        self.layer = layer
        self.name = "vgg19_fc7" if layer == "fc7" else "vgg19_fc7_pre_relu"
        self._enum = VGG19_Weights.IMAGENET1K_V1
        # The enum's own preprocessing is used even for weights=None, so benchmarks measure the real pipeline.
        self.preprocess = self._enum.transforms()
        self.weights_file: str | None = None
        self.weights_sha256: str | None = None

        if weights is None:
            log.warning("vgg19_fc7 built with weights=None: random weights, its features mean nothing (tests/benchmarks only)")
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                net = vgg19(weights=None)
        else:
            state = self._load_state_dict(weights_path, download)
            # Built on the meta device: no 140M-parameter random init just to overwrite it; assign=True
            # then adopts the (memory-mapped) loaded tensors.
            with torch.device("meta"):
                net = vgg19(weights=None)
            missing, unexpected = net.load_state_dict(state, strict=False, assign=True)
            if missing or unexpected:
                raise MissingWeightsError(
                    f"weights file {describe_path(self.weights_file)} is not a torchvision VGG-19 state dict "
                    f"(missing keys {missing[:3]}, unexpected keys {unexpected[:3]}); use {self._enum.url}."
                )
        self.pretrained = weights is not None
        cut = 5 if layer == "fc7" else 4  # classifier: Linear, ReLU, Dropout, Linear(fc7), ReLU, Dropout, Linear
        fc8 = net.classifier[6]
        # fc8 (fc7 -> 1000 ImageNet logits) is kept aside for the classifier bridge; random weights have no classes.
        self._fc8 = (fc8.weight.detach().float().cpu().numpy().copy(), fc8.bias.detach().float().cpu().numpy().copy()) if self.pretrained else None
        net.classifier = net.classifier[:cut]
        self.model = net.eval().requires_grad_(False)
        self.to(resolve_device(device))

    def classifier_head(self) -> ClassifierHead | None:
        """VGG-19's fc8 over the 1,000 ImageNet classes (None with random weights)."""
        if self._fc8 is None:
            return None
        weight, bias = self._fc8
        return ClassifierHead("imagenet1k", imagenet_categories(), weight, bias, relu_input=self.layer == "fc7_pre_relu")

    # ------------------------------------------------------------------ weights

    def _load_state_dict(self, weights_path: str | os.PathLike[str] | None, download: bool) -> dict[str, Any]:
        import torch

        filename = os.path.basename(self._enum.url)
        hub_file = hub_checkpoint_path(self._enum.url)
        candidates: list[tuple[str, Path]] = []
        if weights_path is not None:
            candidates.append(("weights_path", Path(weights_path)))
        if os.environ.get(ENV_VAR):
            candidates.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
        candidates.append(("torch hub cache", hub_file))
        for origin, path in candidates:
            if path.is_file():
                self.weights_sha256 = verify_weights_file(path)
                self.weights_file = str(path)
                log.info("vgg19_fc7: weights from %s %s", origin, describe_path(path))
                return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            if origin != "torch hub cache":  # an explicit location that is wrong is an error, not a fallback
                raise MissingWeightsError(
                    f"VGG-19 weights file {describe_path(path)} (from {origin}) does not exist; "
                    f"put {filename} (from {self._enum.url}) there, or fix the path."
                )
        where = (
            f"download {self._enum.url} and either save it as {describe_path(hub_file)} (torch's hub cache), "
            f"or set {ENV_VAR}=/path/to/{filename}, or pass weights_path=; keep the file name, its "
            "'-dcbb9e9d' part is the sha256 prefix the file is checked against"
        )
        if not download:
            raise MissingWeightsError(f"VGG-19 ImageNet weights not found locally and download=False; {where}.")
        try:
            # torchvision's own download: writes to the hub cache and checks the hash prefix.
            state = self._enum.get_state_dict(progress=False, check_hash=True)
        except Exception as exc:  # no network, proxy, HTTP error, hash mismatch of a partial download
            raise MissingWeightsError(f"VGG-19 ImageNet weights could not be downloaded ({type(exc).__name__}: {exc}); {where}.") from exc
        if hub_file.is_file():
            self.weights_file = str(hub_file)
            self.weights_sha256 = verify_weights_file(hub_file)
        return state

    # ------------------------------------------------------------------ featurizer

    def prepare(self, image: Any) -> Any:
        return self.preprocess(limit_aspect(image))

    def describe(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "model": "torchvision.models.vgg19",
            "layer": "classifier[4] (ReLU after fc7)" if self.layer == "fc7" else "classifier[3] (fc7 Linear, before ReLU)",
            "weights": "VGG19_Weights.IMAGENET1K_V1" if self.pretrained else None,
            "weights_url": self._enum.url if self.pretrained else None,
            "weights_file": self.weights_file,
            "weights_sha256": self.weights_sha256,
            "preprocessing": {
                "resize": 256, "crop": 224, "interpolation": "bilinear", "antialias": True,
                "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                "source": "VGG19_Weights.IMAGENET1K_V1.transforms()",
            },
            "warning": None if self.pretrained else "random weights (weights=None): features are meaningless",
        }
