"""The paper's three-stage recommender: image -> nearest dataset images -> nearest songs in LINE space."""

from __future__ import annotations

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
from graphrec.index import ExactIndex
from graphrec.model_io import ModelParts

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors

    from graphrec.graph.build import BipartiteGraph
    from graphrec.text.keywords import KeywordResult
    from graphrec.vision.base import Featurizer

log = get_logger(__name__)

ImageInput = "str | Path | bytes | Image.Image | np.ndarray"


@dataclass
class Recommendation:
    """One recommended song and why it was chosen."""

    song_id: str
    title: str
    artist: str
    score: float  # cosine similarity in LINE space to the (first) dataset image that led to it
    images: list[tuple[str, float]]  # (image id, distance to the query in the first stage's feature space), nearest first
    keywords: list[str]  # keywords the song shares with those images, the song's strongest first
    song_keywords: list[str]  # the song's own strongest keywords
    first_lines: str

    @property
    def reason(self) -> str:
        via = ", ".join(image_id for image_id, _ in self.images)
        if self.keywords:
            return f"shares {'、'.join(self.keywords)} with nearby images {via}"
        return f"close in the graph to nearby images {via} (song keywords: {'、'.join(self.song_keywords)})"

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
            "reason": self.reason,
        }


@dataclass
class Recommendations:
    """Top-k songs for one query, as parallel arrays (like `implicit`) plus the detailed items."""

    song_ids: np.ndarray
    scores: np.ndarray
    items: list[Recommendation]
    featurizer: str
    neighbour_images: list[tuple[str, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "featurizer": self.featurizer,
            "neighbour_images": [{"image_id": i, "distance": d} for i, d in self.neighbour_images],
            "songs": [item.to_dict() for item in self.items],
        }


def _first_lines(lyrics: str, n: int = 2) -> str:
    lines = [line.strip() for line in lyrics.splitlines() if line.strip()]
    return "\n".join(lines[:n])


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
    ) -> None:
        self.config = config
        self.songs_ = list(songs)
        self.images_ = list(images)
        self.song_keywords_ = sp.csr_matrix(song_keywords, dtype=np.float32)
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
        self.popularity_ = np.array(
            [np.nan if s.popularity is None else float(s.popularity) for s in self.songs_], dtype=np.float64
        )
        self.image_keywords_ = self._image_keyword_matrix()
        self._image_index = ExactIndex(self.prepare_features(self.image_features_))
        self._song_index = ExactIndex(self.song_vectors_)

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
        keywords: KeywordResult | None = None,
        featurizer: Featurizer | None = None,
        image_features: np.ndarray | None = None,
        show_progress: bool | None = None,
    ) -> "Recommender":
        """Build the whole model by running the stages of :mod:`graphrec.stages` in order.

        ``keywords`` is stage 1's result for these songs and ``config.keywords`` when already at hand
        (an experiment's folds share it). ``image_features`` (one row per record of ``images``, in
        order) skips featurising; ``featurizer`` must then still be the one that made them, so that
        queries land in the same space.
        """
        from graphrec import stages
        from graphrec.vision import get_featurizer

        config = config or BuildConfig()
        if len(songs) == 0:
            raise InputError("the song corpus is empty; give at least one song with lyrics.")
        if len(images) == 0:
            raise InputError("the image set is empty; give at least one keyword-labelled image.")
        if image_features is not None and len(image_features) != len(images):
            raise InputError(
                f"image_features has {len(image_features)} rows but the image set has {len(images)} images; "
                "pass one feature row per image, in the image set's order."
            )
        timings = stages.Timings()
        with timings.stage("keywords"):
            if keywords is None:
                keywords = stages.select_keywords(songs, config.keywords, show_progress=show_progress)
        mapped, map_stats = stages.map_images(images, keywords.vocabulary)
        with timings.stage("features"):
            if featurizer is None:
                featurizer = get_featurizer(config.featurizer)
            elif featurizer.name != config.featurizer:
                config = dataclasses.replace(config, featurizer=featurizer.name)
            featurized = stages.featurize_images(
                mapped, featurizer, features=image_features,
                feature_ids=None if image_features is None else [r.id for r in images], show_progress=show_progress,
            )
        with timings.stage("graph"):
            graph = stages.make_graph(keywords, featurized.images, config.image_keyword_weight)
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
        )

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
        row = self.song_keywords_.getrow(song)
        return [self.vocabulary_[row.indices[i]] for i in np.argsort(-row.data, kind="stable")]

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
