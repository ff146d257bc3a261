"""The paper's three-stage recommender: image -> nearest dataset images -> nearest songs in LINE space."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from graphrec._log import get_logger
from graphrec.config import BuildConfig, RecommendConfig
from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song, SongCorpus
from graphrec.embed.keyed import to_keyed_vectors
from graphrec.errors import InputError
from graphrec.index import ExactIndex, make_index
from graphrec.graph.build import ClassNodes
from graphrec.model_io import ModelParts
from graphrec.ranking import (
    BigramCache,
    Evidence,
    PieceColumns,
    RankWeights,
    gather_evidence,
    group_classes,
    lyric_substance,
    photo_seed,
    rank_songs,
    song_relevance,
    sparse_line,
    unit_rows,
)
from graphrec.vision.heads import ClassifierHead, head_of

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

    from graphrec.graph.build import BipartiteGraph
    from graphrec.text.keywords import KeywordResult
    from graphrec.vision.base import Featurizer
    from graphrec.vision.engines import FeatureEngine

log = get_logger(__name__)

ImageInput = "str | Path | bytes | Image.Image | np.ndarray"


@dataclass
class Recommendation:
    """One recommended song and why it was chosen."""

    song_id: str
    title: str
    artist: str
    # rank="graph": the second stage's combined score (the ranking key); rank="paper": the cosine in
    # LINE space to the dataset image that led to the song
    score: float
    images: list[tuple[str, float]]  # (image id, distance to the query in the first stage's feature space), nearest first
    keywords: list[str]  # keywords the song shares with the evidence (images, classes), the strongest first
    song_keywords: list[str]  # the song's own strongest keywords
    first_lines: str
    classes: list[tuple[str, float]] = field(default_factory=list)  # (classifier class, probability) that led to it
    # which of ``keywords`` the listed images carry, and which the listed classes name (empty: all of them)
    image_keywords: list[str] = field(default_factory=list)
    class_keywords: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        via = ", ".join(image_id for image_id, _ in self.images)
        looks = ", ".join(f"{label} {p:.2f}" for label, p in self.classes)
        words = "、".join(self.keywords)
        if self.keywords:
            parts = [f"shares {'、'.join(self.image_keywords) or words} with nearby images {via}"] if self.images else []
            if self.classes:
                parts.append(f"looks like {looks} → {'、'.join(self.class_keywords) or words}")
            return "; ".join(parts) or f"sings of {words}"
        near = f"nearby images {via}" if self.images else (f"what the photo looks like ({looks})" if self.classes else "the photo")
        return f"close in the graph to {near} (song keywords: {'、'.join(self.song_keywords)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "song_id": self.song_id,
            "title": self.title,
            "artist": self.artist,
            "score": self.score,
            "images": [{"image_id": i, "distance": d} for i, d in self.images],
            "keywords": self.keywords,
            "song_keywords": self.song_keywords,
            "first_lines": self.first_lines,
            "classes": [{"label": label, "probability": p} for label, p in self.classes],
            "image_keywords": self.image_keywords,
            "class_keywords": self.class_keywords,
            "reason": self.reason,
        }


@dataclass
class Recommendations:
    """Top-k songs for one query, as parallel arrays (like `implicit`) plus the detailed items."""

    song_ids: np.ndarray
    scores: np.ndarray  # best first
    items: list[Recommendation]
    featurizer: str
    neighbour_images: list[tuple[str, float]] = field(default_factory=list)
    # what the first stage saw: {"keywords": [(word, share)], "looks_like": [(class, p)], "sources": {source: share}}
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # set when there are no songs because the photo gave no evidence

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "featurizer": self.featurizer,
            "neighbour_images": [{"image_id": i, "distance": d} for i, d in self.neighbour_images],
            "evidence": self.evidence,
            "songs": [item.to_dict() for item in self.items],
        }
        if self.message is not None:
            out["message"] = self.message
        return out


def calibrated(recommend: RecommendConfig, featurizer: Any) -> RecommendConfig:
    """``recommend`` with the image-similarity thresholds left at None set from the featurizer's calibration.

    A cosine means different things in different feature spaces (EfficientNet-Lite0's photos of
    unrelated subjects are .3-.5 apart, colour histograms far less), so the featurizer says where
    "nothing alike" ends (``similarity_ramp = (min, full)``); featurizers without one give (0, 0).
    """
    low, high = getattr(featurizer, "similarity_ramp", (0.0, 0.0))
    changes: dict[str, Any] = {}
    if recommend.min_image_similarity is None:
        changes["min_image_similarity"] = float(low)
    if recommend.full_image_similarity is None:
        changes["full_image_similarity"] = float(high)
    return dataclasses.replace(recommend, **changes) if changes else recommend


_REASON_SHARE = 0.05  # evidence words and classes below this share are not named in reasons
_REASON_WORDS = 3  # at most this many words, images and classes in one reason
_REASON_CLASS = 0.005  # classes below this probability are not named in reasons


def _first_lines(lyrics: str, n: int = 2) -> str:
    lines = [line.strip() for line in lyrics.splitlines() if line.strip()]
    return "\n".join(lines[:n])


# photos whose LINE closeness to every song (and, under evidence_match="words", keyword relevance) is
# computed in one product (64 x 12 bytes a song)
_CLOSENESS_BATCH = 64
_BIGRAM_CACHE = 4096  # songs whose lyric bigrams the second stage keeps (a few MB; the duplicate check reads them for every photo)
_PIECE_CACHE = 512  # pieces of evidence (keyword sets) whose songs the second stage keeps (525 validation photos: 180, 2.6 MB)


class Recommender:
    """A built model. Create with :meth:`build` or :meth:`load`; query with :meth:`recommend`."""

    def __init__(
        self,
        *,
        config: BuildConfig,
        vocabulary: Sequence[str],
        songs: Sequence[Song],
        song_keywords: sp.csr_matrix,
        song_vectors: np.ndarray,
        images: Sequence[ImageRecord],
        image_features: np.ndarray,
        image_vectors: np.ndarray,
        keyword_vectors: np.ndarray,
        featurizer_name: str,
        featurizer_info: dict[str, Any] | None = None,
        provenance: dict[str, Any] | None = None,
        featurizer: Featurizer | None = None,
        classes: ClassNodes | None = None,
        class_vectors: np.ndarray | None = None,
        song_counts: sp.csr_matrix | None = None,
        image_index: Any = None,
    ) -> None:
        self.config = config
        self.songs_ = list(songs)
        self.images_ = list(images)
        self.song_keywords_ = sp.csr_matrix(song_keywords, dtype=np.float32)
        self.song_counts_ = None if song_counts is None else sp.csr_matrix(song_counts, dtype=np.float32)
        if self.song_counts_ is not None and self.song_counts_.shape != self.song_keywords_.shape:
            raise InputError(
                f"model part song_counts has shape {self.song_counts_.shape}, expected {self.song_keywords_.shape}; "
                "the model is inconsistent."
            )
        self.image_features_ = np.ascontiguousarray(image_features, dtype=np.float32)
        self.featurizer_name = featurizer_name
        self.featurizer_info = dict(featurizer_info or {})
        self.provenance = dict(provenance or {})
        self._featurizer = featurizer
        self.graph_: BipartiteGraph | None = None  # set by build() for export (GraphML); not part of the saved model
        vocabulary = list(vocabulary)
        song_vectors = np.asarray(song_vectors, dtype=np.float32)
        image_vectors = np.asarray(image_vectors, dtype=np.float32)
        keyword_vectors = np.asarray(keyword_vectors, dtype=np.float32)
        self._check_shapes(len(vocabulary), song_vectors, image_vectors, keyword_vectors)
        # One gensim KeyedVectors per node kind: keys, key -> row and the vectors in one place.
        self.vectors_: dict[str, KeyedVectors] = {
            "song": to_keyed_vectors([s.id for s in self.songs_], song_vectors),
            "image": to_keyed_vectors([r.id for r in self.images_], image_vectors),
            "keyword": to_keyed_vectors(vocabulary, keyword_vectors),
        }
        # The classifier bridge: class nodes (rows = ClassNodes rows; ids = the classifier's column numbers).
        self.classes_ = classes
        if classes is not None:
            if class_vectors is None or len(class_vectors) != len(classes) or classes.keywords.shape[1] != len(vocabulary):
                raise InputError(
                    f"model part class_vectors has {None if class_vectors is None else len(class_vectors)} rows for "
                    f"{len(classes)} classes (and {classes.keywords.shape[1]} keyword columns for {len(vocabulary)} words); "
                    "the model is inconsistent."
                )
            self.vectors_["class"] = to_keyed_vectors(classes.ids, np.asarray(class_vectors, dtype=np.float32))
            self._class_columns = np.array([int(c) for c in classes.ids], dtype=np.int64)
        # the classes that name the same keywords: one piece of evidence each (made once, not per photo)
        self._class_groups = group_classes(classes.keywords) if classes is not None else None
        self._head: ClassifierHead | None = None
        self.popularity_ = np.array(
            [np.nan if s.popularity is None else float(s.popularity) for s in self.songs_], dtype=np.float64
        )
        self.image_keywords_ = self._image_keyword_matrix()
        self._image_index = self._make_image_index(reuse=image_index)
        self._song_index = ExactIndex(self.song_vectors_)
        self._image_units = unit_rows(self.image_features_)
        self._song_units = unit_rows(self.song_vectors_)
        self._lyrics = [s.lyrics for s in self.songs_]
        self._bigrams = BigramCache(self._lyrics, _BIGRAM_CACHE)
        self.substance_ = self._substance()
        self._set_relevance()

    def _set_relevance(self) -> None:
        self.song_relevance_ = song_relevance(self.song_keywords_, self.song_counts_, self.config.recommend.keyword_relevance)
        self._relevance_by_word = self.song_relevance_.tocsc()  # the second stage reads it a keyword at a time
        self._pieces = PieceColumns(self._relevance_by_word, _PIECE_CACHE)

    # Views of the keyed vectors under the names the rest of graphrec reads (no copies).
    @property
    def vocabulary_(self) -> list[str]:
        return self.vectors_["keyword"].index_to_key

    @property
    def song_ids_(self) -> list[str]:
        return self.vectors_["song"].index_to_key

    @property
    def image_ids_(self) -> list[str]:
        return self.vectors_["image"].index_to_key

    @property
    def song_vectors_(self) -> np.ndarray:
        return self.vectors_["song"].vectors

    @property
    def image_vectors_(self) -> np.ndarray:
        return self.vectors_["image"].vectors

    @property
    def keyword_vectors_(self) -> np.ndarray:
        return self.vectors_["keyword"].vectors

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        songs: SongCorpus,
        images: ImageSet,
        config: BuildConfig | None = None,
        *,
        fallback_images: ImageSet | None = None,
        keywords: KeywordResult | None = None,
        featurizer: Featurizer | None = None,
        image_features: np.ndarray | None = None,
        show_progress: bool | None = None,
        feature_engine: FeatureEngine | None = None,
    ) -> "Recommender":
        """Build the whole model by running the stages of :mod:`graphrec.stages` in order.

        ``fallback_images`` stand in only for vocabulary words that no image of ``images`` carries
        (the shipped emoji drawings beside the shipped photos). ``keywords`` is stage 1's result for
        these songs and ``stages.vocabulary_config(config, featurizer)`` when already at hand (an
        experiment's folds share it). ``image_features`` (one row per record of ``images``, then of
        ``fallback_images``, in order) skips featurising; ``featurizer`` must then still be the one
        that made them, so that queries land in the same space. ``feature_engine`` runs featurising
        here (default) or on a Ray cluster (:class:`graphrec.vision.engines.FeatureEngine`).
        """
        from graphrec import stages
        from graphrec.vision import get_featurizer

        config = config or BuildConfig()
        if len(songs) == 0:
            raise InputError("the song corpus is empty; give at least one song with lyrics.")
        if len(images) == 0:
            raise InputError("the image set is empty; give at least one keyword-labelled image.")
        all_images = list(images) + list(fallback_images or [])
        if image_features is not None and len(image_features) != len(all_images):
            raise InputError(
                f"image_features has {len(image_features)} rows but the image set has {len(all_images)} images; "
                "pass one feature row per image, in the image set's order (then the fallback images')."
            )
        timings = stages.Timings()
        if featurizer is None:
            featurizer = get_featurizer(config.featurizer)
        elif featurizer.name != config.featurizer:
            config = dataclasses.replace(config, featurizer=featurizer.name)
        config = dataclasses.replace(config, recommend=calibrated(config.recommend, featurizer))
        head = head_of(featurizer) if config.classifier_bridge else None
        if config.classifier_bridge and head is None:
            log.info("featurizer %s has no classifier head: no classifier bridge", featurizer.name)
        config = dataclasses.replace(config, keywords=stages.vocabulary_config(config, head))
        with timings.stage("keywords"):
            if keywords is None:
                keywords = stages.select_keywords(songs, config.keywords, show_progress=show_progress)
        mapped, map_stats = stages.map_images(images, keywords.vocabulary, fallback=fallback_images)
        with timings.stage("features"):
            featurized = stages.featurize_images(
                mapped, featurizer, features=image_features,
                feature_ids=None if image_features is None else [r.id for r in all_images], show_progress=show_progress,
                engine=feature_engine,
            )
        classes, class_report = None, None
        if head is not None:
            rows_, table_path = stages.load_class_rows(config.class_table, head)
            classes, class_report = stages.class_nodes(head, rows_, keywords.vocabulary, where=f"class table {table_path!r}")
            class_report["table"] = table_path
            if not len(classes):
                classes = None
        with timings.stage("graph"):
            graph = stages.make_graph(keywords, featurized.images, config.image_keyword_weight,
                                      classes=classes, class_keyword_weight=config.class_keyword_weight)
        with timings.stage("line"):
            line = stages.embed_graph(graph, config.line, show_progress=show_progress)

        song_by_id = {s.id: s for s in songs}
        kept_records = list(featurized.images)

        def rows(prefix: str, ids: Sequence[str]) -> np.ndarray:
            return np.array([graph.index(f"{prefix}:{i}") for i in ids], dtype=np.int64)

        provenance = {
            "songs": dict(getattr(songs, "provenance", {})),
            "images": dict(images.provenance),
            "keyword_stats": dict(keywords.stats),
            "songs_read": len(songs),
            "songs_kept": len(keywords.song_ids),
            "songs_dropped": len(keywords.dropped_song_ids),
            "image_mapping": dict(map_stats),
            "classifier_bridge": class_report,
            "images_failed": [{"path": p, "reason": r} for p, r in featurized.failures],
            "graph": graph.degree_stats(),
            "line": {
                "samples_per_order": line.samples,
                "samples_per_s": line.samples_per_s,
                "threads": line.threads,
                "final_loss": line.loss_history[-1] if line.loss_history else None,
            },
            "timings": dict(timings),
        }
        model = cls(
            config=config,
            vocabulary=keywords.vocabulary,
            songs=[song_by_id[i] for i in keywords.song_ids],
            song_keywords=keywords.weights,
            song_vectors=line.vectors[rows("song", keywords.song_ids)],
            images=kept_records,
            image_features=featurized.features,
            image_vectors=line.vectors[rows("image", [r.id for r in kept_records])],
            keyword_vectors=line.vectors[rows("kw", keywords.vocabulary)],
            featurizer_name=featurizer.name,
            featurizer_info=featurizer.describe(),
            provenance=provenance,
            featurizer=featurizer,
            classes=classes,
            class_vectors=None if classes is None else line.vectors[rows("class", classes.ids)],
            song_counts=keywords.counts,
        )
        model.graph_ = graph
        return model

    @classmethod
    def from_parts(cls, parts: ModelParts, featurizer: Featurizer | None = None) -> "Recommender":
        """Assemble a model from what :func:`graphrec.model_io.load_model` read."""
        return cls(
            config=parts.config,
            vocabulary=parts.vocabulary,
            songs=parts.songs,
            song_keywords=parts.song_keywords,
            song_vectors=parts.vectors["song"],
            images=parts.images,
            image_features=parts.image_features,
            image_vectors=parts.vectors["image"],
            keyword_vectors=parts.vectors["keyword"],
            featurizer_name=parts.featurizer_name,
            featurizer_info=parts.featurizer_info,
            provenance=parts.provenance,
            featurizer=featurizer,
            classes=parts.classes,
            class_vectors=parts.vectors.get("class"),
            song_counts=parts.song_counts,
            image_index=parts.image_index,
        )

    def to_parts(self) -> ModelParts:
        """The model as plain parts, for :func:`graphrec.model_io.save_model`."""
        return ModelParts(
            config=self.config,
            vocabulary=list(self.vocabulary_),
            songs=self.songs_,
            song_keywords=self.song_keywords_,
            images=self.images_,
            image_features=self.image_features_,
            vectors={kind: kv.vectors for kind, kv in self.vectors_.items()},
            featurizer_name=self.featurizer_name,
            featurizer_info=self.featurizer_info,
            provenance=self.provenance,
            classes=self.classes_,
            song_counts=self.song_counts_,
            image_index=self._image_index,
        )

    def with_recommend_config(self, recommend: RecommendConfig) -> "Recommender":
        """The same model (arrays shared, not copied) querying with other ``RecommendConfig`` settings."""
        if not isinstance(recommend, RecommendConfig):
            raise InputError(f"recommend must be a RecommendConfig, got {type(recommend).__name__}.")
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config, recommend=recommend)
        if recommend.feature_norm != self.config.recommend.feature_norm:
            other._image_index = other._make_image_index()
        elif (recommend.index, recommend.index_threshold) != (self.config.recommend.index, self.config.recommend.index_threshold):
            other._image_index = other._make_image_index(reuse=self._image_index)
        if recommend.substance_chars != self.config.recommend.substance_chars:
            other.substance_ = other._substance()
        if recommend.keyword_relevance != self.config.recommend.keyword_relevance:
            other._set_relevance()
        return other

    def _make_image_index(self, reuse: Any = None) -> Any:
        """The first stage's index over the dataset images (``RecommendConfig.index``); ``reuse``: one built over the same features."""
        cfg = self.config.recommend
        return make_index(self.prepare_features(self.image_features_), cfg.index, threshold=cfg.index_threshold, reuse=reuse)

    def _substance(self) -> np.ndarray:
        lyrics = [s.lyrics for s in self.songs_]
        target = self.config.recommend.substance_chars or float(np.median([sum(1 for ch in t if ch.isalnum()) for t in lyrics]))
        return lyric_substance(lyrics, target_chars=target)

    # ------------------------------------------------------------------ querying

    @property
    def featurizer(self) -> Featurizer:
        """The featurizer the model was built with, created on first use."""
        if self._featurizer is None:
            from graphrec.vision import get_featurizer

            featurizer = get_featurizer(self.featurizer_name)
            if featurizer.dim != self.image_features_.shape[1]:
                raise InputError(
                    f"featurizer {self.featurizer_name!r} now gives {featurizer.dim}-d features but the model "
                    f"stores {self.image_features_.shape[1]}-d ones; rebuild the model."
                )
            self._featurizer = featurizer
        return self._featurizer

    def recommend(self, image: Any, k: int | None = None) -> Recommendations:
        """Top-``k`` songs for one image: a path, bytes, a PIL image or an HxWx3 uint8 array.

        A 1-D float array of the featurizer's dimension is taken as ready-made features.
        """
        if isinstance(image, np.ndarray) and image.ndim == 1:
            features = image[None, :]
        else:
            features = self.featurizer.transform([image])
        return self.recommend_features(features, k)[0]

    def recommend_features(self, features: np.ndarray, k: int | None = None) -> list[Recommendations]:
        """Top-``k`` songs for each row of ``features`` (already in the model's feature space)."""
        cfg: RecommendConfig = self.config.recommend
        k = cfg.k if k is None else k
        if not isinstance(k, int | np.integer) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}.")
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise InputError(f"features must be a 2-D array (one row per query), got shape {features.shape}.")
        k = min(int(k), len(self.songs_))
        if cfg.rank == "paper":
            return self._recommend_paper(features, k)
        return self._recommend_graph(features, k)

    def _recommend_paper(self, features: np.ndarray, k: int) -> list[Recommendations]:
        cfg = self.config.recommend
        k_images = min(cfg.k_images, len(self.images_))
        img_idx, img_dist = self._image_index.search(self.prepare_features(features), k_images)
        # Songs per image are taken `songs_per_image` at a time, image by image, as in the paper;
        # deeper candidates fill the list when the first pass leaves duplicates.
        depth = min(len(self.songs_), max(k, cfg.songs_per_image))
        cand_idx, cand_dist = self._song_index.search(self.image_vectors_[img_idx.ravel()], depth)
        cand_idx = cand_idx.reshape(len(features), k_images, depth)
        cand_dist = cand_dist.reshape(len(features), k_images, depth)
        return [
            self._assemble(img_idx[q], img_dist[q], cand_idx[q], cand_dist[q], k, cfg.songs_per_image)
            for q in range(len(features))
        ]

    @property
    def classifier_head(self) -> ClassifierHead | None:
        """The featurizer's classifier, when this model has a classifier bridge (checked against its classes)."""
        if self.classes_ is None:
            return None
        if self._head is None:
            head = head_of(self.featurizer)
            if head is None:
                raise InputError(
                    f"this model has a classifier bridge but featurizer {self.featurizer_name!r} now has no classifier head; "
                    "rebuild the model."
                )
            for column, label in zip(self._class_columns, self.classes_.labels):
                if column >= len(head.labels) or head.labels[column] != label:
                    raise InputError(
                        f"the model's class {column} is {label!r} but the featurizer's classifier calls it "
                        f"{head.labels[column] if column < len(head.labels) else None!r}; rebuild the model."
                    )
            self._head = head
        return self._head

    def _recommend_graph(self, features: np.ndarray, k: int) -> list[Recommendations]:
        cfg = self.config.recommend
        use_images = cfg.first_stage in ("images", "both")
        head = self.classifier_head if cfg.first_stage in ("classifier", "both") else None
        k_images = min(cfg.k_images, len(self.images_))
        img_idx, img_dist = self._image_index.search(self.prepare_features(features), k_images)
        units = unit_rows(features)
        probs = head.probabilities(features)[:, self._class_columns] if head is not None and self.classes_ is not None else None
        weights = RankWeights(
            line=cfg.line_weight, keywords=cfg.keyword_weight, substance=cfg.substance_weight,
            pool=cfg.pool, min_share=cfg.min_share, variety=cfg.variety, match=cfg.evidence_match,
        )
        lyrics = self._lyrics
        evidences = []
        for q in range(len(features)):
            sims = self._image_units[img_idx[q]] @ units[q]
            evidences.append(gather_evidence(
                image_rows=img_idx[q] if use_images else None,
                image_sims=sims if use_images else None,
                image_keywords=self.image_keywords_,
                image_vectors=self.image_vectors_,
                class_probs=None if probs is None else probs[q],
                class_keywords=None if self.classes_ is None else self.classes_.keywords,
                class_vectors=self.vectors_["class"].vectors if "class" in self.vectors_ else None,
                top_classes=cfg.top_classes,
                image_temperature=cfg.image_temperature,
                image_weight=cfg.image_weight,
                classifier_weight=cfg.classifier_weight,
                min_image_similarity=cfg.min_image_similarity or 0.0,
                full_image_similarity=cfg.full_image_similarity or 0.0,
                min_class_mass=cfg.min_class_mass, class_groups=self._class_groups,
            ))
        out = []
        for start in range(0, len(features), _CLOSENESS_BATCH):
            batch = range(start, min(len(features), start + _CLOSENESS_BATCH))
            # one pass over the song vectors for a batch of photos (memory-bound: a pass per photo costs
            # about as much as the whole product)
            closeness = relevance = None
            if len(batch) > 1:
                closeness = self._song_units @ np.stack([evidences[q].point for q in batch], axis=1)
                if cfg.evidence_match == "words":  # a sum over words is one product for the batch
                    relevance = self._relevance_by_word @ np.stack([evidences[q].keywords for q in batch], axis=1)
            for column, q in enumerate(batch):
                rows, scores = rank_songs(
                    evidences[q], song_vectors=self._song_units, song_keywords=self._relevance_by_word,
                    substance=self.substance_, lyrics=lyrics, k=k, weights=weights, seed=photo_seed(features[q]),
                    closeness=None if closeness is None else closeness[:, column],
                    relevance=None if relevance is None else relevance[:, column],
                    bigrams=self._bigrams, pieces=self._pieces,
                )
                out.append(self._explain_graph(evidences[q], rows, scores, img_idx[q], img_dist[q]))
        return out

    def _explain_graph(
        self, evidence: Evidence, rows: np.ndarray, scores: np.ndarray, img_idx: np.ndarray, img_dist: np.ndarray
    ) -> Recommendations:
        vocab = self.vocabulary_
        class_labels = self.classes_.labels if self.classes_ is not None else []
        summary: dict[str, Any] = {
            "keywords": [(vocab[j], round(float(evidence.keywords[j]), 3)) for j in np.argsort(-evidence.keywords) if evidence.keywords[j] > 0],
            "looks_like": [(class_labels[c], round(p, 3)) for c, p in evidence.classes],
            "sources": {name: round(share, 3) for name, share in evidence.share.items()},
            "image_confidence": round(evidence.image_confidence, 3),
            "class_mass": round(evidence.class_mass, 3),
        }
        neighbours = [(self.image_ids_[int(i)], float(d)) for i, d in zip(img_idx, img_dist)]
        if evidence.empty:
            looks = ", ".join(f"{label} {p:.2f}" for label, p in summary["looks_like"][:3]) or "nothing it knows"
            message = (
                f"no evidence for songs: the nearest dataset image is only {evidence.image_confidence:.2f} similar and the "
                f"classifier sees {looks}, with {evidence.class_mass:.2f} of its probability on classes that lyrics sing of; "
                "no song is recommended rather than unrelated ones."
            )
            return Recommendations(
                song_ids=np.array([], dtype=object), scores=np.zeros(0, np.float32), items=[], featurizer=self.featurizer_name,
                neighbour_images=neighbours, evidence=summary, message=message,
            )
        distance = {int(i): float(d) for i, d in zip(img_idx, img_dist)}
        column = self.vectors_["keyword"].key_to_index
        relevance = self.song_relevance_
        ik = self.image_keywords_
        ck = self.classes_.keywords if self.classes_ is not None else None
        # the classes a reason may name, likeliest first, whether or not they are among the likeliest of
        # all: fifty dog breeds at 1% each are what made 犬 evidence
        probs = evidence.class_probs
        named_classes: list[tuple[int, float]] = []
        if evidence.share.get("classifier") and ck is not None and probs is not None:
            ranked = np.argsort(-probs, kind="stable")
            named_classes = [(int(c), float(probs[c])) for c in ranked[: int(np.sum(probs >= _REASON_CLASS))]]
        items = []
        for row, score in zip(rows, scores):
            song_words = self._keywords_of_row(int(row))
            # the reason names what drove the choice: the evidence words the song sings of, by their part
            # in its relevance (a word below 5% of the evidence is noise, not a reason), at most three
            part = {int(j): float(evidence.keywords[j] * r) for j, r in zip(*sparse_line(relevance, int(row)))
                    if evidence.keywords[j] >= _REASON_SHARE}
            shared = [vocab[j] for j in sorted(part, key=lambda j: (-part[j], j))][:_REASON_WORDS]
            shared_cols = {column[w] for w in shared}
            def leads(cols: np.ndarray) -> bool:
                return not shared_cols or bool(shared_cols & set(cols.tolist()))  # a song sharing nothing: all evidence led to it

            image_rows = [
                i for i, _ in evidence.images if leads(sparse_line(ik, i)[0])
            ][:_REASON_WORDS] if evidence.share.get("images") else []
            images = [(self.image_ids_[i], distance[i]) for i in image_rows]
            class_rows = [(c, p) for c, p in named_classes if ck is not None and leads(sparse_line(ck, c)[0])][:_REASON_WORDS]
            classes = [(class_labels[c], p) for c, p in class_rows]

            def carried(matrix: sp.csr_matrix, rows: list[int]) -> list[str]:
                cols = {int(j) for r in rows for j in sparse_line(matrix, r)[0]}
                return [w for w in shared if column[w] in cols]

            record = self.songs_[int(row)]
            items.append(Recommendation(
                song_id=record.id, title=record.title, artist=record.artist, score=float(score),
                images=images, keywords=shared, song_keywords=song_words[:3], first_lines=_first_lines(record.lyrics),
                classes=classes, image_keywords=carried(ik, image_rows),
                class_keywords=carried(ck, [c for c, _ in class_rows]) if ck is not None else [],
            ))
        return Recommendations(
            song_ids=np.array([item.song_id for item in items], dtype=object),
            scores=np.asarray(scores, dtype=np.float32),
            items=items,
            featurizer=self.featurizer_name,
            neighbour_images=neighbours,
            evidence=summary,
        )

    def _row_items(self, song: int) -> tuple[np.ndarray, np.ndarray]:
        return sparse_line(self.song_keywords_, song)

    def prepare_features(self, features: np.ndarray) -> np.ndarray:
        """Features as the first stage compares them (``RecommendConfig.feature_norm``): raw, or unit length."""
        features = np.asarray(features, dtype=np.float32)
        if self.config.recommend.feature_norm == "l2":
            norms = np.linalg.norm(features, axis=-1, keepdims=True)
            features = features / np.maximum(norms, np.float32(1e-12))
        return features

    def _assemble(
        self,
        img_idx: np.ndarray,
        img_dist: np.ndarray,
        cand_idx: np.ndarray,
        cand_dist: np.ndarray,
        k: int,
        step: int,
    ) -> Recommendations:
        chosen: dict[int, tuple[int, float]] = {}  # song row -> (first image position, LINE distance)
        depth = cand_idx.shape[1]
        reached = 0
        for start in range(0, depth, step):
            reached = min(depth, start + step)
            for pos in range(len(img_idx)):
                for j in range(start, reached):
                    song = int(cand_idx[pos, j])
                    if song not in chosen and len(chosen) < k:
                        chosen[song] = (pos, float(cand_dist[pos, j]))
            if len(chosen) >= k:
                break
        items = []
        for song, (first_pos, dist) in chosen.items():
            via = [pos for pos in range(len(img_idx)) if song in cand_idx[pos, :reached]]
            via.sort(key=lambda pos: (pos != first_pos, pos))
            items.append(self._explain(song, [int(img_idx[p]) for p in via], [float(img_dist[p]) for p in via], dist))
        return Recommendations(
            song_ids=np.array([item.song_id for item in items], dtype=object),
            scores=np.array([item.score for item in items], dtype=np.float32),
            items=items,
            featurizer=self.featurizer_name,
            neighbour_images=[(self.image_ids_[int(i)], float(d)) for i, d in zip(img_idx, img_dist)],
        )

    def _explain(self, song: int, images: list[int], distances: list[float], line_dist: float) -> Recommendation:
        # Cosine in LINE space to the image that first led here: comparable across models, whereas the
        # Euclidean distance used for retrieval depends on the vectors' norms (order 1 or 2 alone are not unit length).
        a, b = self.song_vectors_[song], self.image_vectors_[images[0]]
        cosine = float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
        song_words = self._keywords_of_row(song)
        image_words: set[str] = set()
        for i in images:
            image_words.update(self.images_[i].keywords)
        record = self.songs_[song]
        return Recommendation(
            song_id=record.id,
            title=record.title,
            artist=record.artist,
            score=cosine,
            images=[(self.image_ids_[i], d) for i, d in zip(images, distances)],
            keywords=[w for w in song_words if w in image_words],
            song_keywords=song_words[:3],
            first_lines=_first_lines(record.lyrics),
        )

    # ------------------------------------------------------------------ lookups

    def song(self, song_id: str) -> Song:
        """The stored song with this id; KeyError naming it when unknown."""
        try:
            return self.songs_[self.vectors_["song"].key_to_index[song_id]]
        except KeyError:
            raise KeyError(f"no song with id {song_id!r} in this model") from None

    def image(self, image_id: str) -> ImageRecord:
        try:
            return self.images_[self.vectors_["image"].key_to_index[image_id]]
        except KeyError:
            raise KeyError(f"no image with id {image_id!r} in this model") from None

    def image_path(self, image_id: str) -> Path:
        """The file of a dataset image (for showing reasons), looked up by id, never built from input."""
        return Path(self.image(image_id).path)

    def song_keyword_list(self, song_id: str) -> list[str]:
        """The song's vocabulary keywords, strongest first."""
        return self._keywords_of_row(self.vectors_["song"].key_to_index[song_id])

    def _keywords_of_row(self, song: int) -> list[str]:
        columns, weights = self._row_items(song)
        vocabulary = self.vocabulary_
        return [vocabulary[columns[i]] for i in np.argsort(-weights, kind="stable")]

    @cached_property
    def node_vectors(self) -> KeyedVectors:
        """All LINE vectors (songs, images, keywords) in one KeyedVectors keyed by typed node id (``song:<id>``,
        ``image:<id>``, ``kw:<word>``), built once on first use."""
        prefixes = {"song": "song", "image": "image", "keyword": "kw"}
        ids = [f"{prefixes[kind]}:{key}" for kind, kv in self.vectors_.items() for key in kv.index_to_key]
        return to_keyed_vectors(ids, np.vstack([kv.vectors for kv in self.vectors_.values()]))

    def _image_keyword_matrix(self) -> sp.csr_matrix:
        columns = self.vectors_["keyword"].key_to_index
        rows, cols, vals = [], [], []
        for i, record in enumerate(self.images_):
            for word, weight in zip(record.keywords, record.weights):
                j = columns.get(word)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(weight)
        return sp.csr_matrix(
            (np.asarray(vals, np.float32), (rows, cols)), shape=(len(self.images_), len(self.vocabulary_))
        )

    def _check_shapes(self, n_words: int, song_vectors: np.ndarray, image_vectors: np.ndarray, keyword_vectors: np.ndarray) -> None:
        n_songs, n_images = len(self.songs_), len(self.images_)
        checks = [
            ("song_keywords", self.song_keywords_.shape, (n_songs, n_words)),
            ("song_vectors rows", song_vectors.shape[:1], (n_songs,)),
            ("image_features rows", self.image_features_.shape[:1], (n_images,)),
            ("image_vectors rows", image_vectors.shape[:1], (n_images,)),
            ("keyword_vectors rows", keyword_vectors.shape[:1], (n_words,)),
        ]
        for name, got, expected in checks:
            if tuple(got) != tuple(expected):
                raise InputError(f"model part {name} has shape {got}, expected {expected}; the model is inconsistent.")
        if n_songs == 0 or n_images == 0:
            raise InputError("a model needs at least one song and one image.")

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the model directory atomically (see :mod:`graphrec.model_io`)."""
        from graphrec.model_io import save_model

        return save_model(self.to_parts(), path)

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        from graphrec.errors import ModelFormatError, describe_path
        from graphrec.model_io import load_model

        parts = load_model(path)
        try:
            return cls.from_parts(parts)
        except ValueError as exc:
            raise ModelFormatError(f"model {describe_path(path)} is inconsistent: {exc}") from None

    def __repr__(self) -> str:
        return (
            f"Recommender(songs={len(self.songs_)}, images={len(self.images_)}, "
            f"keywords={len(self.vocabulary_)}, featurizer={self.featurizer_name!r})"
        )
