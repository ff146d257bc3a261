"""Configuration of every stage, validated at construction, serialisable to the model manifest."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from graphrec.embed.line import LineConfig
from graphrec.errors import InputError
from graphrec.index.select import EXACT_BELOW, INDEX_KINDS, IndexKind
from graphrec.ranking import EVIDENCE_MATCHES, RELEVANCE_RULES, EvidenceMatch, RelevanceRule
from graphrec.text.keywords import KeywordConfig
from graphrec.vision.registry import DEFAULT_FEATURIZER, parse_spec

T = TypeVar("T")

FirstStage = Literal["images", "classifier", "both"]
RankRule = Literal["graph", "paper"]


@dataclass(frozen=True)
class RecommendConfig:
    """How a photo becomes ``k`` songs (see :mod:`graphrec.ranking`).

    ``rank="paper"`` is the paper's retrieval, kept for ablations: the ``k_images`` nearest dataset
    images, ``songs_per_image`` nearest songs in LINE space each, image by image (first stage: images
    only). ``rank="graph"`` (default) gathers evidence from the nearest images and/or the classifier
    bridge (``first_stage``), then scores every song by LINE closeness to the evidence, relevance to
    its keywords and substance, and spreads the ``k`` places over the evidence keywords.

    ``feature_norm`` is how image features are compared in the first stage. The paper used plain
    Euclidean distance on fc7 (``"none"``). The default ``"l2"`` scales every feature vector to unit
    length first (Euclidean ranking then equals cosine ranking): with photos queried against a
    different kind of dataset image raw distances let a few dataset images be the nearest to almost
    every photo ("hubs"); unit length removes most of that.
    """

    k: int = 10
    k_images: int = 5
    songs_per_image: int = 2  # rank="paper" only
    feature_norm: Literal["l2", "none"] = "l2"
    rank: RankRule = "graph"
    first_stage: FirstStage = "both"  # "classifier"/"both" need a featurizer with a classifier head and class nodes
    top_classes: int = 5  # most probable classes (with keywords) that give evidence
    image_temperature: float = 0.05  # softmax temperature over the nearest images' cosine similarities
    image_weight: float = 1.0  # weight of the nearest-image evidence (times its confidence)
    classifier_weight: float = 1.0  # weight of the classifier evidence (times its confidence)
    # Below min_image_similarity the nearest images give no evidence; with full > min, trust in them
    # ramps from 0 there to 1 at full_image_similarity (else it is the cosine itself). None: the
    # featurizer's own calibration (its ``similarity_ramp``), fixed into the model when it is built.
    min_image_similarity: float | None = None
    full_image_similarity: float | None = None
    min_class_mass: float = 0.05  # below this probability of its likeliest keyword the classifier gives none
    line_weight: float = 1.0  # second stage: LINE cosine to the evidence point
    keyword_weight: float = 3.0  # second stage: the song's relevance to the evidence
    keyword_relevance: RelevanceRule = "any"  # "any": each evidence word it sings of; "lines": by the lines holding it
    # "sources": relevance sums the pieces of evidence (each nearest image, each group of likely classes)
    # whose words the song sings of; "words": it sums the shares of the evidence words it sings of
    evidence_match: EvidenceMatch = "sources"
    substance_weight: float = 0.5  # second stage: the song's length, up to substance_chars
    substance_chars: int = 0  # characters that make a full-length song; 0 = the model's median song
    pool: int = 300  # second stage: best-scored candidates the places are spread over
    min_share: float = 0.3  # evidence keywords below this share get no place of their own
    variety: float = 0.1  # second stage: Gumbel scale of the photo-seeded draw among near-equal candidates
    index: IndexKind = "auto"  # first stage's image index (graphrec.index.make_index): exact, FAISS hnsw/ivfpq, auto by size
    index_threshold: int = EXACT_BELOW  # index="auto": exact search below this many images

    def __post_init__(self) -> None:
        for name in ("k", "k_images", "songs_per_image", "top_classes", "pool"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"RecommendConfig.{name} must be a positive integer, got {value!r}.")
        if not isinstance(self.substance_chars, int) or isinstance(self.substance_chars, bool) or self.substance_chars < 0:
            raise InputError(f"RecommendConfig.substance_chars must be 0 (the median song) or a positive integer, got {self.substance_chars!r}.")
        if self.feature_norm not in ("l2", "none"):
            raise InputError(f"RecommendConfig.feature_norm must be 'l2' or 'none' (the paper's), got {self.feature_norm!r}.")
        if self.rank not in ("graph", "paper"):
            raise InputError(f"RecommendConfig.rank must be 'graph' or 'paper', got {self.rank!r}.")
        if self.keyword_relevance not in RELEVANCE_RULES:
            raise InputError(
                f"RecommendConfig.keyword_relevance must be 'any' (each evidence word a song sings of) or 'lines' "
                f"(by the lines that hold it), got {self.keyword_relevance!r}."
            )
        if self.evidence_match not in EVIDENCE_MATCHES:
            raise InputError(
                f"RecommendConfig.evidence_match must be 'sources' (each nearest image or group of likely classes whose "
                f"words a song sings of) or 'words' (each evidence word), got {self.evidence_match!r}."
            )
        if self.first_stage not in ("images", "classifier", "both"):
            raise InputError(f"RecommendConfig.first_stage must be 'images', 'classifier' or 'both', got {self.first_stage!r}.")
        if self.rank == "paper" and self.first_stage != "images":
            raise InputError(
                f"RecommendConfig(rank='paper') retrieves through the nearest images only; set first_stage='images' "
                f"(got {self.first_stage!r}) or use rank='graph'."
            )
        for name in ("image_temperature",):
            if not getattr(self, name) > 0:
                raise InputError(f"RecommendConfig.{name} must be > 0, got {getattr(self, name)!r}.")
        for name in ("image_weight", "classifier_weight", "line_weight", "keyword_weight", "substance_weight",
                     "min_class_mass", "min_share", "variety"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0 and value == value):
                raise InputError(f"RecommendConfig.{name} must be a number >= 0, got {value!r}.")
        for name in ("min_image_similarity", "full_image_similarity"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and -1 <= value <= 1):
                raise InputError(f"RecommendConfig.{name} must be a cosine in [-1, 1], got {value!r}.")
        if self.index not in INDEX_KINDS:
            raise InputError(f"RecommendConfig.index must be one of {', '.join(map(repr, INDEX_KINDS))}, got {self.index!r}; 'auto' picks by size.")
        if not isinstance(self.index_threshold, int) or isinstance(self.index_threshold, bool) or self.index_threshold < 1:
            raise InputError(f"RecommendConfig.index_threshold must be a positive number of images, got {self.index_threshold!r}.")


@dataclass(frozen=True)
class BuildConfig:
    """Everything `Recommender.build` needs besides the data."""

    keywords: KeywordConfig = field(default_factory=KeywordConfig)
    line: LineConfig = field(default_factory=LineConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    featurizer: str = DEFAULT_FEATURIZER
    image_keyword_weight: float = 1.0  # multiplies the manifest's image-keyword weights in the graph
    # The classifier bridge: the featurizer's classes as graph nodes tied to keywords by a reviewed table.
    classifier_bridge: bool = True  # on when the featurizer has a classifier head (EfficientNet-Lite0, VGG-19)
    class_table: str | None = None  # CSV index,name,keywords,weights,reason; None = the shipped ImageNet table
    class_keyword_weight: float = 1.0  # multiplies the table's class-keyword weights in the graph
    # Make what photo classes and classifier classes name reachable: their words join the vocabulary
    # when enough songs sing of them (KeywordConfig.include_min_df); see stages.vocabulary_config.
    include_class_words: bool = True

    def __post_init__(self) -> None:
        for name, kind in (("keywords", KeywordConfig), ("line", LineConfig), ("recommend", RecommendConfig)):
            if not isinstance(getattr(self, name), kind):
                raise InputError(
                    f"BuildConfig.{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}."
                )
        if not isinstance(self.featurizer, str) or not self.featurizer:
            raise InputError(f"BuildConfig.featurizer must be a featurizer name such as {DEFAULT_FEATURIZER!r}, got {self.featurizer!r}.")
        parse_spec(self.featurizer)  # a typo fails here, before any work starts, naming the valid names
        for name in ("image_keyword_weight", "class_keyword_weight"):
            if not getattr(self, name) > 0:
                raise InputError(f"BuildConfig.{name} must be > 0, got {getattr(self, name)!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "BuildConfig":
        data = dict(data)
        recommend = dict(data.pop("recommend", {}))
        if recommend and "evidence_match" not in recommend:
            # saved before relevance counted pieces of evidence: it keeps ranking as it was built to
            recommend["evidence_match"] = "words"
        return cls(
            keywords=_from_dict(KeywordConfig, data.pop("keywords", {})),
            line=_from_dict(LineConfig, data.pop("line", {})),
            recommend=_from_dict(RecommendConfig, recommend),
            **data,
        )


def _from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a flat config dataclass from JSON, where tuples came back as lists."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - known
    if unknown:
        raise InputError(f"{cls.__name__} has no field(s) {sorted(unknown)}; this model was saved by another graphrec version.")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
