"""Genre from image tags (after A. Passant, "SpotiTags").

A :class:`Tagger` gives every cover a score per tag. The offline tagger here is EfficientNet-Lite0's
ImageNet classifier (:class:`ImageNetTagger`, 1,000 English labels), standing in for the write-up's web
tagging service; anything with ``name``, ``labels`` and ``score(paths) -> FeatureBatch`` drops in.

From the scores: each cover keeps its top-k tags with their scores (its *bag of tags*); per genre, tags
ranked by summed score (:func:`genre_tag_totals`, :func:`top_tags`); *distinctive* tags are in a genre's
top-100 and in no other genre's (:func:`distinctive_tags`). :class:`TagGenre` classifies a bag of tags
restricted to a vocabulary it chooses from its training covers only (top-n or distinctive top-n per
genre), with a multinomial logistic regression.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from graphrec.covers.data import CoverSet
from graphrec.covers.descriptors import cover_features
from graphrec.errors import InputError
from graphrec.vision.base import FeatureBatch

Vocabulary = Literal["top", "distinctive"]


@runtime_checkable
class Tagger(Protocol):
    """Scores of every tag for images: ``score(paths)`` -> ``FeatureBatch`` of ``(n_ok, len(labels))``."""

    name: str
    labels: Sequence[str]

    def score(self, paths: Sequence[str], *, hashes: Sequence[str] | None = None,
              show_progress: bool | None = None) -> FeatureBatch: ...


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet class names in the classifier's output order (from torchvision's metadata: offline)."""
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


class ImageNetTagger:
    """EfficientNet-Lite0's ImageNet softmax as tag scores.

    The classifier is ``softmax(fc(pooled features))`` and the pooled features are exactly the
    ``efficientnet_lite0`` featurizer's output, so the tags come from the cached 1280-d features:
    no second forward pass over covers already described.
    """

    name = "efficientnet_lite0_imagenet"

    def __init__(self, *, cache_dir: str | os.PathLike[str] | None = None, device: str = "cpu") -> None:
        from graphrec.vision.efficientnet import EfficientNetLite0

        self.featurizer = EfficientNetLite0(device=device)
        fc = self.featurizer.model._fc
        self.weight = fc.weight.detach().cpu().numpy().astype(np.float32)  # (1000, 1280)
        self.bias = fc.bias.detach().cpu().numpy().astype(np.float32)
        self.labels = imagenet_categories()
        if len(self.labels) != self.weight.shape[0]:  # pragma: no cover - a mismatched torchvision
            raise InputError(f"ImageNet metadata has {len(self.labels)} names for {self.weight.shape[0]} classifier outputs.")
        self.cache_dir = cache_dir

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """ImageNet class probabilities ``(n, 1000)`` of ``efficientnet_lite0`` feature rows."""
        logits = np.asarray(features, dtype=np.float32) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def score(self, paths: Sequence[str], *, hashes: Sequence[str] | None = None,
              show_progress: bool | None = None) -> FeatureBatch:
        batch = cover_features(self.featurizer, paths, hashes=hashes, cache_dir=self.cache_dir, show_progress=show_progress)
        return FeatureBatch(features=self.probabilities(batch.features), ok=batch.ok, failures=batch.failures)

    def score_images(self, images: Sequence[Any]) -> np.ndarray:
        """Scores of in-memory or on-disk images, uncached (raises ImageError on a bad one)."""
        return self.probabilities(self.featurizer.transform(list(images)))


def top_k(scores: np.ndarray, labels: Sequence[str], k: int = 5) -> list[list[tuple[str, float]]]:
    """Each row's ``k`` best tags with their scores, best first."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[(labels[j], float(scores[i, j])) for j in row] for i, row in enumerate(order)]


def bag_of_tags(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """Keep each row's ``k`` highest scores, zero the rest: the cover's tags with their weights."""
    scores = np.asarray(scores, dtype=np.float32)
    if not 1 <= k <= scores.shape[1]:
        raise InputError(f"k must be between 1 and the {scores.shape[1]} tags, got {k}.")
    keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    bag = np.zeros_like(scores)
    rows = np.arange(len(scores))[:, None]
    bag[rows, keep] = scores[rows, keep]
    return bag


def genre_tag_totals(bag: np.ndarray, labels: np.ndarray, n_genres: int) -> np.ndarray:
    """``(n_genres, n_tags)``: each tag's summed score over each genre's covers."""
    totals = np.zeros((n_genres, bag.shape[1]), dtype=np.float64)
    np.add.at(totals, np.asarray(labels, dtype=np.int64), bag)
    return totals


def top_tags(totals: np.ndarray, n: int) -> list[np.ndarray]:
    """Per genre, the indices of its ``n`` tags with the highest summed score (only tags that occur)."""
    out = []
    for row in totals:
        order = np.argsort(-row, kind="stable")[:n]
        out.append(order[row[order] > 0])
    return out


def distinctive_tags(totals: np.ndarray, pool: int = 100) -> list[np.ndarray]:
    """Per genre, its top-``pool`` tags that are in no other genre's top-``pool``, by summed score."""
    tops = top_tags(totals, pool)
    out = []
    for g, mine in enumerate(tops):
        others = set(np.concatenate([t for h, t in enumerate(tops) if h != g])) if len(tops) > 1 else set()
        out.append(np.array([t for t in mine if t not in others], dtype=np.int64))
    return out


def tag_vocabulary(bag: np.ndarray, labels: np.ndarray, n_genres: int, n: int, kind: Vocabulary, pool: int = 100) -> np.ndarray:
    """Sorted tag indices: the union over genres of each genre's first ``n`` top (or distinctive) tags."""
    totals = genre_tag_totals(bag, labels, n_genres)
    if kind == "top":
        per_genre = top_tags(totals, n)
    elif kind == "distinctive":
        per_genre = [tags[:n] for tags in distinctive_tags(totals, pool)]
    else:
        raise InputError(f"vocabulary kind must be 'top' or 'distinctive', got {kind!r}.")
    return np.unique(np.concatenate(per_genre)).astype(np.int64)


class TagGenre:
    """Genre from a bag of tags: a vocabulary chosen on the training covers, then logistic regression.

    Follows graphrec.covers.genre's classifier shape (``fit`` / ``predict_proba``), so
    :func:`graphrec.covers.genre.cross_validate` chooses the vocabulary inside each training fold.
    """

    name = "tags"

    def __init__(self, n: int = 10, vocabulary: Vocabulary = "distinctive", pool: int = 100, c: float = 1.0, seed: int = 0) -> None:
        if n < 1 or pool < 1 or not c > 0:
            raise InputError(f"n and pool must be positive integers and c > 0; got n={n!r}, pool={pool!r}, c={c!r}.")
        if vocabulary not in ("top", "distinctive"):
            raise InputError(f"vocabulary must be 'top' or 'distinctive', got {vocabulary!r}.")
        self.n, self.vocabulary, self.pool, self.c, self.seed = int(n), vocabulary, int(pool), float(c), int(seed)

    def params(self) -> dict[str, Any]:
        return {"n": self.n, "vocabulary": self.vocabulary, "pool": self.pool, "c": self.c, "seed": self.seed}

    def fit(self, bag: np.ndarray, y: np.ndarray) -> "TagGenre":
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(y, dtype=np.int64)
        self.n_classes_ = int(y.max()) + 1
        self.vocabulary_ = tag_vocabulary(bag, y, self.n_classes_, self.n, self.vocabulary, self.pool)
        if len(self.vocabulary_) == 0:
            raise InputError(f"no {self.vocabulary} tags among the training covers' tags; lower n or raise pool.")
        self.model_ = LogisticRegression(C=self.c, max_iter=2000, random_state=self.seed)
        self.model_.fit(bag[:, self.vocabulary_], y)
        return self

    def predict_proba(self, bag: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(bag), self.n_classes_), dtype=np.float32)
        proba[:, self.model_.classes_] = self.model_.predict_proba(bag[:, self.vocabulary_])
        return proba


def tag_covers(
    covers: CoverSet, tagger: Tagger, *, show_progress: bool | None = None
) -> tuple[CoverSet, np.ndarray, list[tuple[str, str]]]:
    """``(the covers that could be tagged, their tag scores (n, len(tagger.labels)), (path, reason) of the others)``."""
    batch = tagger.score(list(covers.paths), hashes=covers.sha256, show_progress=show_progress)
    return covers.subset(batch.ok), batch.features, batch.failures
