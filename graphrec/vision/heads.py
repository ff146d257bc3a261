"""A CNN featurizer's own classifier, applied to the features graphrec already stores.

EfficientNet-Lite0's 1280-d feature is the input of its ImageNet classifier (dropout, then one Linear
layer), and VGG-19's fc7 is the input of its fc8: a photo's class probabilities are therefore a
function of its feature vector, ``softmax(W f + b)``. :class:`ClassifierHead` holds ``W`` and ``b``
(copied from the featurizer's verified weights), so the classifier bridge of the recommender reads
class probabilities off stored or freshly computed features, with no second forward pass.

A featurizer offers its head through an optional ``classifier_head()`` method; :func:`head_of` asks
for it and answers None for featurizers that have none (GIST, colour histograms, pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graphrec.errors import InputError

__all__ = ["ClassifierHead", "head_of", "imagenet_categories"]


@dataclass(frozen=True)
class ClassifierHead:
    """``probabilities(features) = softmax(relu?(features) @ weight.T + bias)`` over ``labels``."""

    name: str  # the label set, e.g. "imagenet1k": what a class-keyword table must be written for
    labels: tuple[str, ...]
    weight: np.ndarray  # float32 (n_classes, dim)
    bias: np.ndarray  # float32 (n_classes,)
    relu_input: bool = False  # features taken before a ReLU that the classifier sees after it

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],) or len(self.labels) != self.weight.shape[0]:
            raise InputError(
                f"classifier head {self.name!r}: weight {self.weight.shape}, bias {self.bias.shape} and "
                f"{len(self.labels)} labels do not fit together; expected (C, D), (C,) and C labels."
            )

    @property
    def dim(self) -> int:
        return int(self.weight.shape[1])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 ``(n, n_classes)``, of raw (un-normalised) features ``(n, dim)``."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"classifier head {self.name!r} takes (n, {self.dim}) features, got shape {x.shape}.")
        if self.relu_input:
            x = np.maximum(x, 0.0)
        logits = x @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "classes": len(self.labels), "dim": self.dim, "relu_input": self.relu_input}


def head_of(featurizer: Any) -> ClassifierHead | None:
    """The featurizer's classifier head, or None when it has none."""
    method = getattr(featurizer, "classifier_head", None)
    return method() if callable(method) else None


def imagenet_categories() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in torchvision's order (offline: they ship inside torchvision)."""
    from torchvision.models import EfficientNet_B0_Weights

    return tuple(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
