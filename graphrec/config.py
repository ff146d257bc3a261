"""Configuration of every stage, validated at construction, serialisable to the model manifest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from graphrec.embed.line import LineConfig
from graphrec.errors import InputError
from graphrec.text.keywords import KeywordConfig
from graphrec.vision.registry import DEFAULT_FEATURIZER, parse_spec

T = TypeVar("T")

@dataclass(frozen=True)
class RecommendConfig:
    """The paper's retrieval: ``k_images`` nearest dataset images, ``songs_per_image`` songs each, ``k`` in all.

    ``feature_norm`` is how image features are compared in the first stage. The paper used plain
    Euclidean distance on fc7 (``"none"``). The default ``"l2"`` scales every feature vector to unit
    length first (Euclidean ranking then equals cosine ranking): with photos queried against a
    different kind of dataset image (the shipped emoji drawings) raw distances let a few dataset
    images be the nearest to almost every photo ("hubs"); unit length removes most of that.
    """

    k: int = 10
    k_images: int = 5
    songs_per_image: int = 2
    feature_norm: Literal["l2", "none"] = "l2"

    def __post_init__(self) -> None:
        for name in ("k", "k_images", "songs_per_image"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"RecommendConfig.{name} must be a positive integer, got {value!r}.")
        if self.feature_norm not in ("l2", "none"):
            raise InputError(f"RecommendConfig.feature_norm must be 'l2' or 'none' (the paper's), got {self.feature_norm!r}.")


@dataclass(frozen=True)
class BuildConfig:
    """Everything `Recommender.build` needs besides the data."""

    keywords: KeywordConfig = field(default_factory=KeywordConfig)
    line: LineConfig = field(default_factory=LineConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    featurizer: str = DEFAULT_FEATURIZER
    image_keyword_weight: float = 1.0  # multiplies the manifest's image-keyword weights in the graph

    def __post_init__(self) -> None:
        for name, kind in (("keywords", KeywordConfig), ("line", LineConfig), ("recommend", RecommendConfig)):
            if not isinstance(getattr(self, name), kind):
                raise InputError(
                    f"BuildConfig.{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}."
                )
        if not isinstance(self.featurizer, str) or not self.featurizer:
            raise InputError(f"BuildConfig.featurizer must be a featurizer name such as {DEFAULT_FEATURIZER!r}, got {self.featurizer!r}.")
        parse_spec(self.featurizer)  # a typo fails here, before any work starts, naming the valid names
        if not self.image_keyword_weight > 0:
            raise InputError(f"BuildConfig.image_keyword_weight must be > 0, got {self.image_keyword_weight!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BuildConfig":
        data = dict(data)
        return cls(
            keywords=_from_dict(KeywordConfig, data.pop("keywords", {})),
            line=_from_dict(LineConfig, data.pop("line", {})),
            recommend=_from_dict(RecommendConfig, data.pop("recommend", {})),
            **data,
        )


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a flat config dataclass from JSON, where tuples came back as lists."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - known
    if unknown:
        raise InputError(f"{cls.__name__} has no field(s) {sorted(unknown)}; this model was saved by another graphrec version.")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
