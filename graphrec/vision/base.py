"""The featurizer protocol and the two-stage base class every graphrec featurizer shares.

A featurizer works in two stages so that batch extraction can overlap decoding with compute:

* ``prepare(image) -> item``: per image, cheap, run in decode workers (resize, crop, to array/tensor);
* ``compute(items) -> (n, dim) float32``: one vectorised call per batch (a torch forward, an FFT bank).

``transform(images)`` is simply ``compute([prepare(load_image(x)) for x in images])``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from graphrec.vision.io import DEFAULT_MAX_PIXELS, ImageSource, load_image

__all__ = ["BaseFeaturizer", "FeatureBatch", "Featurizer", "TorchFeaturizer", "resolve_device"]


@runtime_checkable
class Featurizer(Protocol):
    """What graphrec calls on a featurizer: the recommender (``transform``), the feature pipeline
    (:func:`graphrec.vision.pipeline.iter_features`: ``uses_torch``, ``to``, ``load``, ``compute``, and
    optionally ``decode_in_processes``, which defaults to ``uses_torch``)
    and the model manifest (``name``, ``dim``, ``describe``). :class:`BaseFeaturizer` implements it;
    a new featurizer subclasses that and writes ``prepare``, ``compute`` and ``describe``."""

    name: str  # a spec string that get_featurizer() accepts to rebuild it
    dim: int
    uses_torch: bool  # torch featurizers get a device, and (unless decode_in_processes says otherwise) worker processes

    def to(self, device: str) -> Any:
        """Move to a torch device (a no-op for numpy featurizers); returns the featurizer."""
        ...

    def load(self, src: ImageSource, *, max_pixels: int | None = None) -> Any:
        """Decode and prepare one input for ``compute`` (raises ImageError naming it)."""
        ...

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        """Features of a batch of loaded items: float32 ``(len(items), dim)``."""
        ...

    def transform(self, images: Sequence[ImageSource]) -> np.ndarray:
        """Features of ``images``, raising on the first bad one."""
        ...

    def describe(self) -> dict[str, Any]:
        """Weights, their checksum and the preprocessing, for the model manifest."""
        ...


@dataclass
class FeatureBatch:
    """Features of the images that worked, and why the others did not."""

    features: np.ndarray  # (n_ok, dim), float32 unless extract_features(dtype="float16")
    ok: list[int] = field(default_factory=list)  # indices into the input list that succeeded, ascending
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    failed: list[int] = field(default_factory=list)  # indices of the failures, in the same order


class BaseFeaturizer(ABC):
    """Shared machinery: decoding, batching of ``transform`` and the ``prepare``/``compute`` split."""

    name: str
    dim: int
    #: torch featurizers return tensors from prepare() and get a device.
    uses_torch: bool = False
    #: decode in DataLoader worker processes (each with one torch thread, so a torch forward keeps every
    #: core) rather than in threads (PIL and numpy release the GIL; no process start-up, no pickling).
    decode_in_processes: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS

    @abstractmethod
    def prepare(self, image: Image.Image) -> Any:
        """Per-image preprocessing of an RGB image (runs in decode workers; must be picklable output)."""

    @abstractmethod
    def compute(self, items: Sequence[Any]) -> np.ndarray:
        """Features of a batch of prepared items: float32 ``(len(items), dim)``."""

    @abstractmethod
    def describe(self) -> dict:
        """Weights, their checksum and the preprocessing, for the model manifest."""

    def load(self, src: ImageSource, *, max_pixels: int | None = None) -> Any:
        """Decode and prepare one input (raises ImageError naming it); ``max_pixels`` overrides the featurizer's limit."""
        return self.prepare(load_image(src, max_pixels=self.max_pixels if max_pixels is None else max_pixels))

    def transform(self, images: Sequence[ImageSource]) -> np.ndarray:
        """Features of ``images`` (paths, bytes, PIL images or uint8 arrays): float32 ``(n, dim)``.

        Raises ImageError on the first input that cannot be decoded; use
        :func:`graphrec.vision.extract_features` to skip bad files and keep going.
        """
        if isinstance(images, (str, Path, bytes, Image.Image)) or (isinstance(images, np.ndarray) and images.ndim == 3):
            raise TypeError(
                f"{type(self).__name__}.transform() takes a sequence of images; wrap a single one in a list: transform([image])."
            )
        items = [self.load(image) for image in images]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self.compute(items), dtype=np.float32)

    def to(self, device: str) -> "BaseFeaturizer":
        """Move to a torch device (no-op for numpy featurizers)."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} dim={self.dim}>"


class TorchFeaturizer(BaseFeaturizer):
    """A featurizer whose compute() is a torch forward of stacked ``(3, H, W)`` tensors."""

    uses_torch = True
    decode_in_processes = True
    device: str = "cpu"
    model: Any = None

    def to(self, device: str) -> "TorchFeaturizer":
        device = resolve_device(device)
        if device != self.device:
            self.model.to(device)
            self.device = device
        return self

    def forward(self, batch: Any) -> Any:
        """``(B, 3, H, W)`` float tensor on self.device -> ``(B, dim)`` tensor."""
        return self.model(batch)

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        import torch

        batch = items if isinstance(items, torch.Tensor) else torch.stack(list(items))
        with torch.inference_mode():
            out = self.forward(batch.to(self.device, non_blocking=True))
        return out.float().cpu().numpy()


def resolve_device(device: str | None) -> str:
    """"auto" -> "cuda" when a GPU is visible, else "cpu"; anything else is passed to torch as given."""
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)
