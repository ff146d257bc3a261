"""The paper's three-stage recommender: image -> nearest dataset images -> nearest songs in LINE space."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from graphrec._log import get_logger
from graphrec.config import BuildConfig, RecommendConfig
from graphrec.data.images import ImageRecord, ImageSet
from graphrec.data.songs import Song, SongCorpus
from graphrec.errors import InputError
from graphrec.index import ExactIndex

if TYPE_CHECKING:  # pragma: no cover
    from gensim.models import KeyedVectors
    from PIL import Image

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
        self.vocabulary_ = list(vocabulary)
        self.songs_ = list(songs)
        self.song_ids_ = [s.id for s in self.songs_]
        self.song_keywords_ = sp.csr_matrix(song_keywords, dtype=np.float32)
        self.song_vectors_ = np.ascontiguousarray(song_vectors, dtype=np.float32)
        self.images_ = list(images)
        self.image_ids_ = [r.id for r in self.images_]
        self.image_features_ = np.ascontiguousarray(image_features, dtype=np.float32)
        self.image_vectors_ = np.ascontiguousarray(image_vectors, dtype=np.float32)
        self.keyword_vectors_ = np.ascontiguousarray(keyword_vectors, dtype=np.float32)
        self.featurizer_name = featurizer_name
        self.featurizer_info = dict(featurizer_info or {})
        self.provenance = dict(provenance or {})
        self._featurizer = featurizer
        self._check_shapes()
        self.popularity_ = np.array(
            [np.nan if s.popularity is None else float(s.popularity) for s in self.songs_], dtype=np.float64
        )
        self._song_row = {song_id: i for i, song_id in enumerate(self.song_ids_)}
        self._image_row = {image_id: i for i, image_id in enumerate(self.image_ids_)}
        self._keyword_col = {word: j for j, word in enumerate(self.vocabulary_)}
        self.image_keywords_ = self._image_keyword_matrix()
        self._image_index = ExactIndex(self.prepare_features(self.image_features_))
        self._song_index = ExactIndex(self.song_vectors_)

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        songs: SongCorpus,
        images: ImageSet,
        config: BuildConfig | None = None,
        *,
        featurizer: Featurizer | None = None,
        image_features: np.ndarray | None = None,
        show_progress: bool | None = None,
    ) -> "Recommender":
        """Build the whole model: keywords, image mapping, features, graph, LINE.

        ``image_features`` (one row per record of ``images``, in order) skips featurising, e.g. when an
        experiment re-builds on a subset of cached features; ``featurizer`` must then still be the one
        that made them, so that queries land in the same space.
        """
        from graphrec.data.images import map_to_vocabulary
        from graphrec.embed.line import train_line
        from graphrec.graph.build import build_graph
        from graphrec.text.keywords import extract_keywords
        from graphrec.vision import extract_features, get_featurizer

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
        timings: dict[str, float] = {}

        start = time.perf_counter()
        keywords = extract_keywords(songs, config.keywords, show_progress=show_progress)
        timings["keywords_s"] = time.perf_counter() - start
        log.info(
            "keywords: %d-word vocabulary, %d songs kept, %d dropped (no vocabulary keyword)",
            len(keywords.vocabulary), len(keywords.song_ids), len(keywords.dropped_song_ids),
        )

        mapped, map_stats = map_to_vocabulary(images, keywords.vocabulary)
        if len(mapped) == 0:
            raise InputError(
                f"none of the {len(images)} images has a keyword in the song vocabulary "
                f"({'、'.join(keywords.vocabulary[:10])}…); label the images with vocabulary words "
                "or pass KeywordConfig(vocabulary=...) listing the images' keywords."
            )

        start = time.perf_counter()
        if featurizer is None:
            featurizer = get_featurizer(config.featurizer)
        elif featurizer.name != config.featurizer:
            config = dataclasses.replace(config, featurizer=featurizer.name)
        if image_features is None:
            batch = extract_features(featurizer, [r.path for r in mapped], show_progress=show_progress)
            failures = batch.failures
            kept_records = [mapped[i] for i in batch.ok]
            features = batch.features
        else:
            row_of = {r.id: i for i, r in enumerate(images)}
            features = np.asarray(image_features, dtype=np.float32)[[row_of[r.id] for r in mapped]]
            failures = []
            kept_records = list(mapped)
        for path, reason in failures:
            log.warning("skipped image %s: %s", path, reason)
        if not kept_records:
            raise InputError("no image could be read; see the warnings above for each file and its reason.")
        if features.shape[1] != featurizer.dim:
            raise InputError(
                f"image_features have {features.shape[1]} columns but featurizer {featurizer.name!r} "
                f"gives {featurizer.dim}; pass features made by that featurizer."
            )
        kept_images = ImageSet(records=kept_records, provenance=dict(images.provenance))
        timings["features_s"] = time.perf_counter() - start

        start = time.perf_counter()
        graph = build_graph(keywords, kept_images, image_keyword_weight=config.image_keyword_weight)
        src, dst, weight = graph.directed()
        timings["graph_s"] = time.perf_counter() - start

        start = time.perf_counter()
        line = train_line(src, dst, weight, len(graph.node_ids), config.line, show_progress=show_progress)
        timings["line_s"] = time.perf_counter() - start

        song_by_id = {s.id: s for s in songs}
        kept_songs = [song_by_id[i] for i in keywords.song_ids]

        def rows(prefix: str, ids: Sequence[str]) -> np.ndarray:
            return np.array([graph.index(f"{prefix}:{i}") for i in ids], dtype=np.int64)

        provenance = {
            "songs": dict(songs.provenance),
            "images": dict(images.provenance),
            "keyword_stats": dict(keywords.stats),
            "songs_read": len(songs),
            "songs_kept": len(keywords.song_ids),
            "songs_dropped": len(keywords.dropped_song_ids),
            "image_mapping": dict(map_stats),
            "images_failed": [{"path": p, "reason": r} for p, r in failures],
            "graph": graph.degree_stats(),
            "line": {
                "samples_per_order": line.samples,
                "samples_per_s": line.samples_per_s,
                "threads": line.threads,
                "final_loss": line.loss_history[-1] if line.loss_history else None,
            },
            "timings": timings,
        }
        model = cls(
            config=config,
            vocabulary=keywords.vocabulary,
            songs=kept_songs,
            song_keywords=keywords.weights,
            song_vectors=line.vectors[rows("song", keywords.song_ids)],
            images=kept_records,
            image_features=features,
            image_vectors=line.vectors[rows("image", [r.id for r in kept_records])],
            keyword_vectors=line.vectors[rows("kw", keywords.vocabulary)],
            featurizer_name=featurizer.name,
            featurizer_info=featurizer.describe(),
            provenance=provenance,
            featurizer=featurizer,
        )
        model.graph_ = graph  # kept for export (GraphML); not part of the saved model
        return model

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
            return self.songs_[self._song_row[song_id]]
        except KeyError:
            raise KeyError(f"no song with id {song_id!r} in this model") from None

    def image(self, image_id: str) -> ImageRecord:
        try:
            return self.images_[self._image_row[image_id]]
        except KeyError:
            raise KeyError(f"no image with id {image_id!r} in this model") from None

    def image_path(self, image_id: str) -> Path:
        """The file of a dataset image (for showing reasons), looked up by id, never built from input."""
        return Path(self.image(image_id).path)

    def song_keyword_list(self, song_id: str) -> list[str]:
        """The song's vocabulary keywords, strongest first."""
        return self._keywords_of_row(self._song_row[song_id])

    def _keywords_of_row(self, song: int) -> list[str]:
        row = self.song_keywords_.getrow(song)
        return [self.vocabulary_[row.indices[i]] for i in np.argsort(-row.data, kind="stable")]

    @property
    def node_vectors(self) -> KeyedVectors:
        """All LINE vectors (songs, images, keywords) as gensim KeyedVectors keyed by typed node id."""
        from graphrec.embed.keyed import to_keyed_vectors

        ids = (
            [f"song:{i}" for i in self.song_ids_]
            + [f"image:{i}" for i in self.image_ids_]
            + [f"kw:{w}" for w in self.vocabulary_]
        )
        return to_keyed_vectors(ids, np.vstack([self.song_vectors_, self.image_vectors_, self.keyword_vectors_]))

    def _image_keyword_matrix(self) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for i, record in enumerate(self.images_):
            for word, weight in zip(record.keywords, record.weights):
                j = self._keyword_col.get(word)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(weight)
        return sp.csr_matrix(
            (np.asarray(vals, np.float32), (rows, cols)), shape=(len(self.images_), len(self.vocabulary_))
        )

    def _check_shapes(self) -> None:
        n_songs, n_images, n_words = len(self.songs_), len(self.images_), len(self.vocabulary_)
        checks = [
            ("song_keywords", self.song_keywords_.shape, (n_songs, n_words)),
            ("song_vectors rows", self.song_vectors_.shape[:1], (n_songs,)),
            ("image_features rows", self.image_features_.shape[:1], (n_images,)),
            ("image_vectors rows", self.image_vectors_.shape[:1], (n_images,)),
            ("keyword_vectors rows", self.keyword_vectors_.shape[:1], (n_words,)),
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

        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        from graphrec.model_io import load_model

        return load_model(path)

    def __repr__(self) -> str:
        return (
            f"Recommender(songs={len(self.songs_)}, images={len(self.images_)}, "
            f"keywords={len(self.vocabulary_)}, featurizer={self.featurizer_name!r})"
        )
