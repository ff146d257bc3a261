"""Oliva–Torralba GIST, colour version as in the LEAR C implementation (960-d by default).

Pipeline (our own numpy/scipy implementation of the published algorithm):

1. Resize the short side to ``image_size`` (bilinear) and centre-crop a square; pixels stay 0..255.
2. Prefilter (LEAR ``color_prefilt`` with fc = 4): ``log(x + 1)`` per channel, 5-pixel symmetric
   padding, whitening by subtracting a Gaussian low-pass ``exp(-|f|^2 / s1^2)``, ``s1 = fc / sqrt(ln 2)``,
   then local contrast normalisation: divide by ``0.2 + sqrt(lowpass(mean over channels of res^2))``;
   remove the padding.
3. Gabor bank in the frequency domain (Torralba's ``createGabor``): for scale ``s`` (0-based) with
   ``n`` orientations, orientation ``o``: ``G = exp(-10 * 0.35 * (|f| / H / (0.3 / 1.85^s) - 1)^2
   - 2 * (16 n^2 / 32^2) * pi * (angle(f) + pi o / n)^2)`` with the angle wrapped to [-pi, pi].
   Default orientations per scale (8, 8, 4): 20 filters.
4. For each channel and filter, ``|ifft2(fft2(image) * G)|`` averaged over a 4x4 grid of cells
   (cell edges at ``floor(i * size / 4)``).

Feature layout: ``[channel R, G, B][filter: scale-major, orientation-minor][cell row][cell col]``,
so 3 x 20 x 16 = 960. Orientation ``o`` responds to intensity that varies along the direction at
angle ``-pi o / n`` in the (x right, y down) frequency plane: ``o = 0`` to vertical stripes (variation
along x), ``o = n/2`` to horizontal ones.

FFTs are batched over channels and filters (scipy.fft, single precision).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from graphrec.vision.base import BaseFeaturizer
from graphrec.vision.io import limit_aspect

_PAD = 5
_WORK_BYTES = 96 << 20  # complex responses held at once: bounds memory whatever the batch size


@lru_cache(maxsize=8)
def gabor_bank(height: int, width: int, orientations: tuple[int, ...]) -> np.ndarray:
    """The ``(n_filters, height, width)`` float32 transfer functions, zero frequency at [0, 0]."""
    fy, fx = np.meshgrid(np.arange(height) - height / 2.0, np.arange(width) - width / 2.0, indexing="ij")
    radius = np.fft.ifftshift(np.hypot(fx, fy))
    angle = np.fft.ifftshift(np.arctan2(fy, fx))
    filters = []
    for scale, n in enumerate(orientations):
        centre = 0.3 / 1.85 ** scale  # peak frequency, cycles per pixel relative to the image height
        spread = 16.0 * n * n / 32.0 ** 2  # angular selectivity grows with the number of orientations
        for o in range(n):
            turned = angle + np.pi * o / n
            turned = np.where(turned < -np.pi, turned + 2 * np.pi, np.where(turned > np.pi, turned - 2 * np.pi, turned))
            filters.append(np.exp(-10.0 * 0.35 * (radius / height / centre - 1.0) ** 2 - 2.0 * spread * np.pi * turned ** 2))
    return np.stack(filters).astype(np.float32)


@lru_cache(maxsize=8)
def _lowpass(height: int, width: int, fc: float) -> np.ndarray:
    s1 = fc / np.sqrt(np.log(2.0))
    fy, fx = np.meshgrid(np.arange(height) - height / 2.0, np.arange(width) - width / 2.0, indexing="ij")
    return np.fft.ifftshift(np.exp(-(fx ** 2 + fy ** 2) / s1 ** 2)).astype(np.float32)


def prefilter(images: np.ndarray, fc: float = 4.0) -> np.ndarray:
    """LEAR's colour prefilter on ``(B, C, H, W)`` pixels in 0..255: whitening + local contrast normalisation."""
    import scipy.fft

    x = np.log1p(images.astype(np.float32))
    x = np.pad(x, ((0, 0), (0, 0), (_PAD, _PAD), (_PAD, _PAD)), mode="symmetric")
    g = _lowpass(x.shape[-2], x.shape[-1], float(fc))
    res = x - scipy.fft.ifft2(scipy.fft.fft2(x) * g).real
    energy = np.mean(res * res, axis=1)  # the colour version shares one contrast map across channels
    local = np.sqrt(np.abs(scipy.fft.ifft2(scipy.fft.fft2(energy) * g)))
    out = res / (0.2 + local[:, None])
    return out[..., _PAD:-_PAD, _PAD:-_PAD].astype(np.float32)


def _cell_means(x: np.ndarray, cells: int) -> np.ndarray:
    """Average the last two axes over a ``cells x cells`` grid with edges at floor(i * size / cells)."""
    h, w = x.shape[-2:]
    rows = (np.arange(cells) * h) // cells
    cols = (np.arange(cells) * w) // cells
    sums = np.add.reduceat(np.add.reduceat(x, rows, axis=-2), cols, axis=-1)
    counts = np.diff(np.append(rows, h))[:, None] * np.diff(np.append(cols, w))[None, :]
    return sums / counts


class Gist(BaseFeaturizer):
    """Colour GIST descriptor (LEAR variant): 3 channels x 20 Gabor filters x 4x4 cells = 960-d."""

    name = "gist"

    def __init__(self, *, image_size: int = 256, orientations: Sequence[int] = (8, 8, 4), cells: int = 4, fc: float = 4.0) -> None:
        if image_size < 4 * cells or not orientations or any(int(n) < 1 for n in orientations) or cells < 1:
            raise ValueError(
                f"gist needs image_size >= 4 * cells, cells >= 1 and at least one orientation per scale; got "
                f"image_size={image_size}, cells={cells}, orientations={tuple(orientations)}."
            )
        self.image_size = int(image_size)
        self.orientations = tuple(int(n) for n in orientations)
        self.cells = int(cells)
        self.fc = float(fc)
        self.n_filters = sum(self.orientations)
        self.dim = 3 * self.n_filters * self.cells * self.cells

    def prepare(self, image: Image.Image) -> np.ndarray:
        size = self.image_size
        image = limit_aspect(image)
        scale = size / min(image.size)
        resized = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.Resampling.BILINEAR)
        left, top = (resized.width - size) // 2, (resized.height - size) // 2
        square = resized.crop((left, top, left + size, top + size))
        return np.asarray(square, dtype=np.float32).transpose(2, 0, 1).copy()  # (3, H, W), 0..255

    def compute(self, items: Sequence[Any]) -> np.ndarray:
        import scipy.fft

        x = prefilter(np.stack(items), self.fc)  # (B, 3, H, W)
        b, c, h, w = x.shape
        bank = gabor_bank(h, w, self.orientations)  # (F, H, W)
        spectra = scipy.fft.fft2(x)  # complex64
        out = np.empty((b, c, self.n_filters, self.cells, self.cells), dtype=np.float32)
        per_image = c * self.n_filters * h * w * 8
        step = max(1, _WORK_BYTES // per_image)
        for start in range(0, b, step):  # a few images at a time: each step is one batched FFT over filters
            stop = min(b, start + step)
            responses = np.abs(scipy.fft.ifft2(spectra[start:stop, :, None] * bank[None, None]))
            out[start:stop] = _cell_means(responses, self.cells)
        return out.reshape(b, self.dim)

    def describe(self) -> dict:
        return {
            "name": self.name, "dim": self.dim, "weights": None,
            "preprocessing": {
                "resize": f"short side to {self.image_size}, bilinear, centre crop {self.image_size}x{self.image_size}",
                "prefilter": f"LEAR colour prefilter, fc={self.fc}, padding {_PAD}",
                "orientations_per_scale": list(self.orientations), "cells": self.cells,
                "layout": "channel (RGB), filter (scale-major), cell row, cell col",
            },
        }
