"""Concatenations of featurizers: ``"gist+hsv_hist"`` or weighted ``"gist:0.5+hsv_hist:1"``.

Each part's rows are L2-normalised, then multiplied by the part's weight, then concatenated, so a
weight is the part's share of the squared distance, whatever its native scale or dimension.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from graphrec.vision.base import BaseFeaturizer


def _format_weight(weight: float) -> str:
    return format(weight, "g")


class Combined(BaseFeaturizer):
    """Several featurizers side by side; each decoded image is prepared once per part."""

    def __init__(self, parts: Sequence[tuple[BaseFeaturizer, float]]) -> None:
        if len(parts) < 2:
            raise ValueError(f"a combination needs at least two parts, got {len(parts)}.")
        self.parts = [(featurizer, float(weight)) for featurizer, weight in parts]
        for featurizer, weight in self.parts:
            if not np.isfinite(weight) or weight <= 0:
                raise ValueError(f"the weight of {featurizer.name!r} must be a positive number, got {weight}.")
        self.dim = sum(f.dim for f, _ in self.parts)
        if all(w == 1.0 for _, w in self.parts):
            self.name = "+".join(f.name for f, _ in self.parts)
        else:
            self.name = "+".join(f"{f.name}:{_format_weight(w)}" for f, w in self.parts)
        self.uses_torch = any(f.uses_torch for f, _ in self.parts)

    @property
    def decode_in_processes(self) -> bool:  # type: ignore[override]
        return any(f.decode_in_processes for f, _ in self.parts)

    def prepare(self, image: Image.Image) -> tuple[Any, ...]:
        return tuple(f.prepare(image) for f, _ in self.parts)

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        blocks = []
        for k, (featurizer, weight) in enumerate(self.parts):
            x = np.asarray(featurizer.compute([item[k] for item in items]), dtype=np.float32)
            norm = np.linalg.norm(x, axis=1, keepdims=True)
            x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0) * np.float32(weight)
            blocks.append(x)
        return np.concatenate(blocks, axis=1)

    def to(self, device: str) -> "Combined":
        for featurizer, _ in self.parts:
            featurizer.to(device)
        return self

    def describe(self) -> dict:
        return {
            "name": self.name,
            "dim": self.dim,
            "combination": "each part L2-normalised, times its weight, concatenated in this order",
            "parts": [{"weight": w, **f.describe()} for f, w in self.parts],
        }
