"""Genre from cover art (after N. O'Reilly, "Can you judge an album by its cover?").

Three classifiers over cover descriptors, each ``fit(X, y) -> self`` / ``predict_proba(X) -> (n, n_genres)``,
their learned state a dict of plain arrays (``state()`` / ``from_state()``), so a saved model is
arrays and JSON, never pickle:

* ``knn``: k nearest training covers (Euclidean, k = 10), majority vote: the write-up's HSV + kNN;
* ``boost``: gradient-boosted trees (LightGBM, multiclass): the write-up's HSV + XGBoost;
* ``mlp``: a small head on CNN features, one 256-unit ReLU layer, dropout 0.5, softmax, trained with
  torch (Adam, cross-entropy) on standardised inputs: the write-up's CNN.

:func:`cross_validate` runs stratified k-fold cross-validation with a seed; :class:`GenreModel` is a
classifier with its featurizer and genre names, saved as a checked directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from graphrec._log import get_logger, progress
from graphrec.covers.artifacts import open_artifact, save_arrays, save_artifact
from graphrec.covers.data import CoverSet
from graphrec.covers.descriptors import describe_covers, resolve_featurizer
from graphrec.errors import InputError
from graphrec.index import ExactIndex
from graphrec.vision.base import BaseFeaturizer

log = get_logger(__name__)

KNN_NEIGHBOURS = 10  # voters of the colour-histogram kNN (O'Reilly's write-up)

ClassifierName = Literal["knn", "boost", "mlp"]
CLASSIFIERS: tuple[str, ...] = ("knn", "boost", "mlp")


class GenreClassifier(Protocol):
    name: str
    n_classes_: int

    def fit(self, x: np.ndarray, y: np.ndarray) -> "GenreClassifier": ...

    def predict_proba(self, x: np.ndarray) -> np.ndarray: ...

    def params(self) -> dict[str, Any]: ...

    def state(self) -> dict[str, np.ndarray]: ...


def _check_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise InputError(f"fit needs features (n, d) and n labels with n > 0; got features {x.shape} and {len(y)} labels.")
    if not np.isfinite(x).all():
        raise InputError("features contain NaN or infinity; recompute them.")
    n_classes = int(y.max()) + 1
    if y.min() < 0 or len(np.unique(y)) < 2:
        raise InputError(f"labels must be 0..n_genres-1 with at least two genres present; found {sorted(np.unique(y).tolist())}.")
    return x, y, n_classes


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def predict(model: GenreClassifier, x: np.ndarray) -> np.ndarray:
    """The most probable genre of each row (ties: the lower genre index)."""
    return np.argmax(model.predict_proba(x), axis=1)


class KNNGenre:
    """Majority vote of the ``k`` nearest training covers (Euclidean).

    The probabilities are the vote shares, nudged by less than half a vote so that a tie goes to the
    genre whose nearest voter is nearer.
    """

    name = "knn"

    def __init__(self, k: int = KNN_NEIGHBOURS) -> None:
        self.k = _positive_int("k", k)

    def params(self) -> dict[str, Any]:
        return {"k": self.k}

    def fit(self, x: np.ndarray, y: np.ndarray) -> "KNNGenre":
        self.x_, self.y_, self.n_classes_ = _check_xy(x, y)
        self._index = ExactIndex(self.x_)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        idx, _ = self._index.search(np.asarray(x, dtype=np.float32), self.k)
        votes = self.y_[idx]  # (n, k), nearest first
        k = votes.shape[1]
        counts = np.zeros((len(votes), self.n_classes_), dtype=np.float64)
        np.add.at(counts, (np.repeat(np.arange(len(votes)), k), votes.ravel()), 1.0)
        # Break vote ties towards the genre met first: a bonus below one vote, larger for nearer voters.
        first = np.full((len(votes), self.n_classes_), k, dtype=np.float64)
        np.minimum.at(first, (np.repeat(np.arange(len(votes)), k), votes.ravel()), np.tile(np.arange(k), len(votes)).astype(np.float64))
        share = counts / k
        tie_break = (k - first) / (k * (k + 1) * 2.0)  # < 1/(2k): never outweighs one vote
        proba = share + np.where(counts > 0, tie_break, 0.0)
        return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        return {"x": self.x_, "y": self.y_, "n_classes": np.array(self.n_classes_)}

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> "KNNGenre":
        model = cls(**params)
        model.fit(state["x"], state["y"])
        model.n_classes_ = int(state["n_classes"])
        return model


class BoostedGenre:
    """LightGBM multiclass gradient-boosted trees (deterministic for a seed and thread count)."""

    name = "boost"

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, num_leaves: int = 15,
                 min_child_samples: int = 10, colsample: float = 0.5, seed: int = 0, threads: int | None = None) -> None:
        self.n_estimators = _positive_int("n_estimators", n_estimators)
        self.num_leaves = _positive_int("num_leaves", num_leaves)
        self.min_child_samples = _positive_int("min_child_samples", min_child_samples)
        if not 0 < learning_rate <= 1 or not 0 < colsample <= 1:
            raise InputError(f"learning_rate and colsample must be in (0, 1], got {learning_rate!r} and {colsample!r}.")
        self.learning_rate = float(learning_rate)
        self.colsample = float(colsample)
        self.seed = int(seed)
        self.threads = threads

    def params(self) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_child_samples": self.min_child_samples, "colsample": self.colsample, "seed": self.seed, "threads": self.threads}

    def fit(self, x: np.ndarray, y: np.ndarray) -> "BoostedGenre":
        import lightgbm as lgb

        x, y, self.n_classes_ = _check_xy(x, y)
        params = {
            "objective": "multiclass", "num_class": self.n_classes_, "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_child_samples": self.min_child_samples,
            "feature_fraction": self.colsample, "seed": self.seed, "deterministic": True, "force_row_wise": True,
            "verbosity": -1,
        }
        if self.threads is not None:
            params["num_threads"] = int(self.threads)
        self.booster_ = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=self.n_estimators)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        proba = self.booster_.predict(np.asarray(x, dtype=np.float32))
        return np.asarray(proba, dtype=np.float32).reshape(len(x), self.n_classes_)

    def state(self) -> dict[str, np.ndarray]:
        return {"booster": np.array(self.booster_.model_to_string()), "n_classes": np.array(self.n_classes_)}

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> "BoostedGenre":
        import lightgbm as lgb

        model = cls(**params)
        model.booster_ = lgb.Booster(model_str=str(state["booster"]))
        model.n_classes_ = int(state["n_classes"])
        return model


class MLPGenre:
    """Standardise, Linear(d, hidden), ReLU, Dropout, Linear(hidden, n_genres), softmax; Adam on cross-entropy.

    Training runs in torch under its own seeded generator (global random state untouched) on ``threads``
    torch threads (default 1: for a head this small, more threads only add synchronisation; on a busy
    2-core machine two were 8x slower than one); prediction is plain numpy on the learned arrays.
    """

    name = "mlp"

    def __init__(self, hidden: int = 256, dropout: float = 0.5, epochs: int = 40, batch_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 1e-4, seed: int = 0, threads: int | None = 1) -> None:
        self.hidden = _positive_int("hidden", hidden)
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        if not 0 <= dropout < 1:
            raise InputError(f"dropout must be in [0, 1), got {dropout!r}.")
        if not lr > 0 or not weight_decay >= 0:
            raise InputError(f"lr must be > 0 and weight_decay >= 0, got {lr!r} and {weight_decay!r}.")
        self.dropout = float(dropout)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.seed = int(seed)
        self.threads = None if threads is None else _positive_int("threads", threads)

    def params(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "dropout": self.dropout, "epochs": self.epochs, "batch_size": self.batch_size,
                "lr": self.lr, "weight_decay": self.weight_decay, "seed": self.seed, "threads": self.threads}

    def fit(self, x: np.ndarray, y: np.ndarray) -> "MLPGenre":
        import torch

        x, y, self.n_classes_ = _check_xy(x, y)
        self.mean_ = x.mean(axis=0)
        self.scale_ = x.std(axis=0) + 1e-6
        generator = torch.Generator().manual_seed(self.seed)
        threads_before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            self._train(x, y, generator)
        finally:
            torch.set_num_threads(threads_before)
        return self

    def _train(self, x: np.ndarray, y: np.ndarray, generator: Any) -> None:
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)  # layer initialisation and dropout masks
            first, second = torch.nn.Linear(x.shape[1], self.hidden), torch.nn.Linear(self.hidden, self.n_classes_)
            net = torch.nn.Sequential(first, torch.nn.ReLU(), torch.nn.Dropout(self.dropout), second)
            optimiser = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            inputs = torch.from_numpy((x - self.mean_) / self.scale_)
            targets = torch.from_numpy(y)
            net.train()
            for _ in range(self.epochs):
                order = torch.randperm(len(inputs), generator=generator)
                for start in range(0, len(inputs), self.batch_size):
                    batch = order[start:start + self.batch_size]
                    optimiser.zero_grad()
                    loss = torch.nn.functional.cross_entropy(net(inputs[batch]), targets[batch])
                    loss.backward()
                    optimiser.step()
        self.w1_, self.b1_, self.w2_, self.b2_ = (p.detach().numpy().copy() for p in (first.weight, first.bias, second.weight, second.bias))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float32) - self.mean_) / self.scale_
        hidden = np.maximum(z @ self.w1_.T + self.b1_, 0.0)
        logits = hidden @ self.w2_.T + self.b2_
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean_, "scale": self.scale_, "w1": self.w1_, "b1": self.b1_, "w2": self.w2_, "b2": self.b2_}

    @classmethod
    def from_state(cls, params: dict[str, Any], state: dict[str, np.ndarray]) -> "MLPGenre":
        model = cls(**params)
        model.mean_, model.scale_ = state["mean"], state["scale"]
        model.w1_, model.b1_, model.w2_, model.b2_ = state["w1"], state["b1"], state["w2"], state["b2"]
        model.n_classes_ = int(state["b2"].shape[0])
        return model


_CLASSES: dict[str, Any] = {"knn": KNNGenre, "boost": BoostedGenre, "mlp": MLPGenre}


def make_classifier(name: str, **params: Any) -> GenreClassifier:
    """A fresh, unfitted classifier: ``"knn"``, ``"boost"`` or ``"mlp"`` with its parameters."""
    if name not in _CLASSES:
        raise InputError(f"unknown genre classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}.")
    return _CLASSES[name](**params)


@dataclass
class CVResult:
    """Out-of-fold predictions of a stratified k-fold cross-validation, and what follows from them."""

    labels: np.ndarray  # (n,) true genre index
    predictions: np.ndarray  # (n,) out-of-fold prediction
    probabilities: np.ndarray  # (n, n_genres) out-of-fold
    folds: np.ndarray  # (n,) the fold each cover was tested in
    genres: tuple[str, ...]
    fold_accuracy: list[float] = field(default_factory=list)

    @property
    def correct(self) -> np.ndarray:
        return self.predictions == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    def accuracy_interval(self, *, confidence: float = 0.95, seed: int = 0, n_resamples: int = 2000) -> tuple[float, float, float]:
        """(accuracy, low, high): percentile bootstrap over covers (graphrec.evaluate.metrics.bootstrap_ci)."""
        from graphrec.evaluate.metrics import bootstrap_ci

        return bootstrap_ci(self.correct.astype(np.float64), confidence=confidence, seed=seed, n_resamples=n_resamples)

    def confusion(self) -> np.ndarray:
        """``(n_genres, n_genres)`` counts: row = true genre, column = predicted."""
        k = len(self.genres)
        return np.bincount(self.labels * k + self.predictions, minlength=k * k).reshape(k, k)

    def recall(self) -> dict[str, float]:
        """Per-genre recall: the share of each genre's covers predicted as that genre."""
        matrix = self.confusion()
        return {g: float(matrix[i, i] / max(1, matrix[i].sum())) for i, g in enumerate(self.genres)}

    @property
    def chance(self) -> float:
        """Accuracy of always answering the largest genre (1/n_genres when balanced)."""
        return float(np.bincount(self.labels).max() / len(self.labels))


def cross_validate(
    make: Callable[[], GenreClassifier],
    x: np.ndarray,
    y: np.ndarray,
    genres: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    show_progress: bool | None = None,
) -> CVResult:
    """Stratified ``folds``-fold cross-validation (shuffled with ``seed``) of ``make()`` models."""
    from sklearn.model_selection import StratifiedKFold

    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if folds < 2 or np.bincount(y).min() < folds:
        raise InputError(f"{folds}-fold cross-validation needs folds >= 2 and at least {folds} covers per genre; "
                         f"the smallest genre has {int(np.bincount(y).min())}.")
    n_genres = len(genres)
    predictions = np.full(len(y), -1, dtype=np.int64)
    probabilities = np.zeros((len(y), n_genres), dtype=np.float32)
    fold_of = np.full(len(y), -1, dtype=np.int64)
    fold_accuracy = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for f, (train, test) in enumerate(progress(splitter.split(x, y), show_progress=show_progress, total=folds, desc="folds")):
        model = make().fit(x[train], y[train])
        proba = model.predict_proba(x[test])
        probabilities[test, : proba.shape[1]] = proba
        predictions[test] = np.argmax(proba, axis=1)
        fold_of[test] = f
        fold_accuracy.append(float((predictions[test] == y[test]).mean()))
    return CVResult(labels=y, predictions=predictions, probabilities=probabilities, folds=fold_of,
                    genres=tuple(genres), fold_accuracy=fold_accuracy)


@dataclass
class GenreModel:
    """A fitted classifier with the featurizer it reads and the genre names, saved as a checked directory."""

    classifier: GenreClassifier
    featurizer_name: str
    genres: tuple[str, ...]
    featurizer_info: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def predict_proba_features(self, features: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(np.atleast_2d(np.asarray(features, dtype=np.float32)))

    def predict_proba(self, images: Sequence[Any], *, featurizer: BaseFeaturizer | None = None) -> np.ndarray:
        """``(n_images, n_genres)`` genre probabilities of images (paths or anything ``load_image`` takes)."""
        featurizer = featurizer or resolve_featurizer(self.featurizer_name)
        if featurizer.name != self.featurizer_name:
            raise InputError(f"this genre model reads {self.featurizer_name!r} features, not {featurizer.name!r}.")
        return self.predict_proba_features(featurizer.transform(list(images)))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``path/`` (manifest.json with the classifier's parameters, state.npz) atomically."""
        return save_artifact(
            path, kind="genre_model",
            write=lambda staging: save_arrays(staging / "state.npz", **self.classifier.state()),
            config={"classifier": self.classifier.name, "params": self.classifier.params(), "featurizer": self.featurizer_name},
            genres=list(self.genres),
            featurizer=self.featurizer_info,
            provenance=self.provenance,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "GenreModel":
        artifact = open_artifact(path, "genre_model")
        with artifact.reading():
            config = artifact.manifest["config"]
            kind = _CLASSES[config["classifier"]]
            classifier = kind.from_state(dict(config["params"]), artifact.arrays("state.npz"))
            genres = tuple(artifact.manifest["genres"])
        if classifier.n_classes_ != len(genres):
            raise artifact.malformed(f"predicts {classifier.n_classes_} classes for {len(genres)} genres")
        return cls(classifier=classifier, featurizer_name=str(config["featurizer"]), genres=genres,
                   featurizer_info=dict(artifact.manifest.get("featurizer", {})), provenance=dict(artifact.manifest.get("provenance", {})))


def train_genre_model(
    covers: CoverSet,
    classifier: str = "mlp",
    featurizer: BaseFeaturizer | str | None = None,
    *,
    params: dict[str, Any] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool | None = None,
) -> GenreModel:
    """Fit ``classifier`` on every cover of ``covers`` (default features: ``hsv_hist`` for knn/boost, CNN for mlp)."""
    if featurizer is None:
        featurizer = "efficientnet_lite0" if classifier == "mlp" else "hsv_hist"
    model = make_classifier(classifier, **(params or {}))
    featurizer = resolve_featurizer(featurizer)
    kept, features, failures = describe_covers(covers, featurizer, cache_dir=cache_dir, show_progress=show_progress)
    model.fit(features, kept.labels)
    provenance = {**covers.provenance, "failures": [list(f) for f in failures], "trained_on": len(kept)}
    return GenreModel(classifier=model, featurizer_name=featurizer.name, genres=covers.genres,
                      featurizer_info=featurizer.describe(), provenance=provenance)


__all__ = [
    "CLASSIFIERS", "BoostedGenre", "CVResult", "GenreClassifier", "GenreModel", "KNNGenre", "MLPGenre",
    "cross_validate", "make_classifier", "predict", "train_genre_model",
]
