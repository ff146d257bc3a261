"""Cheap seed featurizers: ``pixels16`` and ``hsv_hist`` (numpy only, no weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from graphrec.vision.base import BaseFeaturizer


class Pixels16(BaseFeaturizer):
    """16x16 grey thumbnail, zero-mean and unit L2 norm (256-d).

    Bernhardsson's album-cover similarity: two images are close when their coarse layouts of
    light and dark match. A flat image (no contrast) gives the zero vector.
    """

    name = "pixels16"
    dim = 256
    side = 16

    def prepare(self, image: Image.Image) -> np.ndarray:
        # BOX averages every source pixel into its cell (a plain bilinear shrink would alias).
        grey = image.convert("L").resize((self.side, self.side), Image.Resampling.BOX)
        return np.asarray(grey, dtype=np.float32).reshape(-1)

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        x = np.stack(items).astype(np.float32)
        x -= x.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-6)

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, "weights": None,
                "preprocessing": "PIL convert('L'), BOX resize to 16x16 (aspect not kept), minus mean, divided by L2 norm"}


class HsvHist(BaseFeaturizer):
    """Joint 8x8x8 histogram of PIL's HSV channels (each 0..255 split into 8 equal bins), L1-normalised (512-d).

    Index = (h_bin * 8 + s_bin) * 8 + v_bin.
    """

    name = "hsv_hist"
    bins = 8
    dim = bins ** 3

    def prepare(self, image: Image.Image) -> np.ndarray:
        hsv = np.asarray(image.convert("HSV"), dtype=np.uint16).reshape(-1, 3)
        q = hsv * self.bins // 256  # 0..255 -> 0..bins-1
        index = (q[:, 0] * self.bins + q[:, 1]) * self.bins + q[:, 2]
        counts = np.bincount(index, minlength=self.dim).astype(np.float32)
        return counts / max(float(counts.sum()), 1.0)

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        return np.stack(items).astype(np.float32)

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, "weights": None,
                "preprocessing": "PIL convert('HSV'), 8 bins per channel over 0..255, joint histogram, L1-normalised; "
                                 "index (h*8+s)*8+v"}
