"""The one-call API: ``graphrec.recommend(image_path)`` and ``graphrec.load(path)``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from graphrec.errors import ModelFormatError, describe_path
from graphrec.recommender import Recommendations, Recommender

MODEL_ENV = "GRAPHREC_MODEL"

_cache: dict[Path, Recommender] = {}
_lock = threading.Lock()


def default_model_path() -> Path:
    """``$GRAPHREC_MODEL`` if set, else ``data/model`` beside the shipped data (what `make demo` builds)."""
    env = os.environ.get(MODEL_ENV)
    if env:
        return Path(env).expanduser()
    from graphrec.data.bundled import DATA_DIR

    return Path(DATA_DIR) / "model"


def load(path: str | os.PathLike[str] | None = None) -> Recommender:
    """Load a saved model (the default one when ``path`` is None)."""
    from graphrec.model_io import recover

    target = Path(path) if path is not None else default_model_path()
    recover(target)  # a save killed between its renames leaves nothing at the path until this runs
    if path is None and not target.exists():
        raise ModelFormatError(
            f"no default model at {describe_path(target)}: build it with `make demo` or "
            f"`graphrec build --out {target}`, or set {MODEL_ENV} to a model directory."
        )
    return Recommender.load(target)


def recommend(image: Any, k: int | None = None, *, model: str | os.PathLike[str] | Recommender | None = None) -> Recommendations:
    """Recommend ``k`` songs (default: the model's ``RecommendConfig.k``) for ``image`` (a path, bytes, PIL image or array).

    The model is loaded once per path and kept for later calls.
    """
    if isinstance(model, Recommender):
        return model.recommend(image, k=k)
    key = (Path(model) if model is not None else default_model_path()).resolve()
    with _lock:
        recommender = _cache.get(key)
        if recommender is None:
            recommender = load(model)
            _cache[key] = recommender
    return recommender.recommend(image, k=k)
