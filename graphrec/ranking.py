"""The query side of the recommender, as array functions: the first stage's evidence and the second stage's ranking.

First stage (:func:`gather_evidence`): what a photo shows, in the graph's terms. Two sources, either or
both (``RecommendConfig.first_stage``):

* **nearest images** (the paper's): the ``k_images`` dataset images nearest in feature space, each
  weighted by a softmax of its cosine similarity; they give keyword evidence (their keywords) and a
  point in LINE space (the weighted mean of their vectors);
* **the classifier bridge**: the featurizer's own classifier (ImageNet for EfficientNet-Lite0 and
  VGG-19) reads class probabilities off the same features; the most probable classes that the class
  table ties to keywords give keyword evidence and a LINE point (their class nodes' vectors).

Each source is weighted by its confidence (the best image similarity; the classifier's probability
for its likeliest keyword, summed over the classes that name it), so a photo unlike every dataset
image leans on the classifier and the other way round. When neither source is confident, there is no evidence, and the recommender says
so instead of returning songs with made-up reasons.

Second stage (:func:`rank_songs`): songs are scored by its LINE cosine to the evidence point
(the graph weights a song's keywords by the lines that hold them, so this says how central the
photo's images are to it), its relevance to the evidence (the summed weight of the pieces of evidence,
each nearest image and each group of likely classes, whose words it sings of: how likely it is to fit
the photo, :func:`evidence_relevance`) and its substance (a one-line scrap is rarely the best answer). Candidates are the songs that
carry an evidence keyword (songs that do not sing of what the photo shows only fill places nothing
else can). The ``k`` songs are then chosen proportionally across the evidence keywords (PM-2 style
seat allocation: a photo of a snowy forest gets songs of snow and of trees, not ten of snow),
skipping near-duplicate lyrics. Among candidates of nearly equal score the choice is a
Plackett-Luce draw seeded by the photo (``variety``): the same photo always gets the same songs,
but the many photos of one subject do not all get the same ten, which spreads exposure over equally
good songs (Diaz et al., "Evaluating stochastic rankings with expected exposure", CIKM 2020).
``scores`` are the combined scores, sorted.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, Literal, TypeVar, get_args

import numpy as np
import scipy.sparse as sp

#: The second stage's keyword relevance rules (:func:`song_relevance`).
RelevanceRule = Literal["any", "lines"]
RELEVANCE_RULES: tuple[str, ...] = get_args(RelevanceRule)
#: How a song's relevance adds up over the evidence (:func:`evidence_relevance`).
EvidenceMatch = Literal["sources", "words"]
EVIDENCE_MATCHES: tuple[str, ...] = get_args(EvidenceMatch)
#: Pieces of evidence below this part of their source's evidence (images, classifier) are not counted.
_MIN_SOURCE = 1e-3

K = TypeVar("K")
V = TypeVar("V")

__all__ = [
    "EVIDENCE_MATCHES", "RELEVANCE_RULES", "BigramCache", "ClassGroups", "Evidence", "EvidenceMatch", "PieceColumns", "RankWeights", "RelevanceRule", "evidence_relevance", "gather_evidence", "group_classes", "lyric_bigrams", "lyric_substance", "photo_seed", "rank_songs", "song_relevance", "sparse_line", "unit_rows",
]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, np.float32(1e-12))


@dataclass
class Evidence:
    """What the first stage found for one photo."""

    keywords: np.ndarray  # (V,) float64 keyword evidence, sums to 1 (all zero when empty)
    point: np.ndarray  # (D,) unit-length point in LINE space (all zero when empty)
    images: list[tuple[int, float]] = field(default_factory=list)  # (image row, cosine similarity), nearest first
    classes: list[tuple[int, float]] = field(default_factory=list)  # (class row, probability), most probable first
    class_probs: np.ndarray | None = None  # every class row's probability (None when the bridge is off)
    image_confidence: float = 0.0  # cosine similarity of the nearest image (0 when the stage is off)
    class_mass: float = 0.0  # the classifier's probability for its likeliest keyword (0 when the bridge is off)
    share: dict[str, float] = field(default_factory=dict)  # each source's share of the evidence, "images"/"classifier"
    # One entry per piece of evidence (a nearest image; the classes that name the same keywords):
    # (its keyword columns, its weight); the weights sum to 1 like ``keywords``.
    sources: list[tuple[np.ndarray, float]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.share


def photo_seed(features: np.ndarray) -> int:
    """A seed that is the same for the same photo: the 64-bit SimHash of its features (Charikar 2002).

    Each bit is the sign of the features' projection on a fixed random direction, so the float noise
    of another machine or batch size flips a bit only when a projection is almost exactly zero.
    """
    x = np.asarray(features, dtype=np.float64).ravel()
    planes = _planes(len(x))
    bits = (planes @ (x - x.mean())) > 0
    return int(np.packbits(bits).view(">u8")[0])


@lru_cache(maxsize=8)
def _planes(dim: int) -> np.ndarray:
    return np.random.default_rng(20181002).standard_normal((64, dim))


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    z = (values - values.max()) / max(temperature, 1e-6)
    w = np.exp(z)
    return w / w.sum()


def gather_evidence(
    *,
    image_rows: np.ndarray | None,
    image_sims: np.ndarray | None,
    image_keywords: sp.csr_matrix,
    image_vectors: np.ndarray,
    class_probs: np.ndarray | None,
    class_keywords: sp.csr_matrix | None,
    class_vectors: np.ndarray | None,
    top_classes: int,
    image_temperature: float,
    image_weight: float,
    classifier_weight: float,
    min_image_similarity: float,
    full_image_similarity: float = 0.0,
    min_class_mass: float,
    class_groups: ClassGroups | None = None,
) -> Evidence:
    """One photo's evidence from its nearest images (rows, cosine similarities) and/or its class probabilities.

    ``class_groups``: :func:`group_classes` of ``class_keywords``, made once for many photos (made here
    when not given).

    ``class_probs`` are the probabilities of the classes that have keywords (rows of ``class_keywords``
    and ``class_vectors``); the classifier's keyword evidence sums them over every class that names a
    keyword, its LINE point averages the ``top_classes`` likeliest classes.
    """
    n_words = image_keywords.shape[1]
    dim = image_vectors.shape[1]
    parts: list[tuple[str, float, np.ndarray, np.ndarray]] = []  # (source, weight, keyword evidence, point)
    pieces: dict[str, list[tuple[np.ndarray, float]]] = {}  # source -> its pieces (keyword columns, weight summing to 1)
    evidence = Evidence(keywords=np.zeros(n_words), point=np.zeros(dim, np.float32))

    if image_rows is not None and image_sims is not None and len(image_rows):
        evidence.images = [(int(r), float(s)) for r, s in zip(image_rows, image_sims)]
        evidence.image_confidence = float(np.max(image_sims))
        # How much to trust the nearest images: their cosine similarity, or, with a ramp (full > min),
        # 0 at min_image_similarity rising to 1 at full_image_similarity: a photo of something no
        # dataset image shows is still "near" some image (cosine .3-.5 for EfficientNet features),
        # and should leave the evidence to the classifier.
        trust = evidence.image_confidence
        if full_image_similarity > min_image_similarity:
            trust = min(1.0, (trust - min_image_similarity) / (full_image_similarity - min_image_similarity))
        if evidence.image_confidence >= min_image_similarity and trust > 0 and image_weight > 0:
            w = _softmax(np.asarray(image_sims, dtype=np.float64), image_temperature)
            words = np.asarray(image_keywords[image_rows].T @ w).ravel()
            point = (w[:, None] * unit_rows(image_vectors[image_rows])).sum(axis=0)
            if words.sum() > 0:
                parts.append(("images", image_weight * trust, words / words.sum(), unit_rows(point)))
                pieces["images"] = _pieces([_row_columns(image_keywords, int(r)) for r in image_rows], w)

    if class_probs is not None and class_keywords is not None and class_vectors is not None and len(class_probs):
        # The probability that the photo shows each keyword, summed over every class that names it:
        # fifty dog breeds at 2% each are a confident 犬; a laptop (no keyword) leaves every word low.
        by_word = np.asarray(class_keywords.T @ class_probs.astype(np.float64)).ravel()
        evidence.class_mass = float(by_word.max()) if len(by_word) else 0.0
        top = np.argsort(-class_probs, kind="stable")[:top_classes]
        top = top[class_probs[top] > 0]
        evidence.classes = [(int(c), float(class_probs[c])) for c in top]
        evidence.class_probs = np.asarray(class_probs, dtype=np.float64)
        if evidence.class_mass >= min_class_mass and classifier_weight > 0 and len(top) and by_word.sum() > 0:
            p = class_probs[top].astype(np.float64)
            point = (p[:, None] * unit_rows(class_vectors[top])).sum(axis=0)
            parts.append(("classifier", classifier_weight * evidence.class_mass, by_word / by_word.sum(), unit_rows(point)))
            groups = class_groups if class_groups is not None else group_classes(class_keywords)
            named = groups.group_of >= 0
            by_group = np.bincount(groups.group_of[named], weights=class_probs[named].astype(np.float64),
                                   minlength=len(groups.columns))
            pieces["classifier"] = _normalised_pieces(list(zip(groups.columns, by_group.tolist())))

    total = sum(weight for _, weight, _, _ in parts)
    if total <= 0:
        return evidence
    for source, weight, words, point in parts:
        evidence.keywords += (weight / total) * words
        evidence.point = evidence.point + (weight / total) * point
        evidence.share[source] = weight / total
        evidence.sources.extend((cols, weight / total * part) for cols, part in pieces.get(source, []))
    evidence.point = unit_rows(evidence.point)
    return evidence


def sparse_line(matrix: sp.csr_matrix | sp.csc_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices and values of row ``i`` of a CSR matrix, or of column ``i`` of a CSC one (views, no copies)."""
    start, end = matrix.indptr[i], matrix.indptr[i + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def _row_columns(matrix: sp.csr_matrix, row: int) -> np.ndarray:
    return np.sort(sparse_line(matrix, row)[0])


@dataclass(frozen=True)
class ClassGroups:
    """The classes that name the same keywords, as one piece of evidence each (fifty dog breeds: 犬)."""

    columns: list[np.ndarray]  # each group's keyword columns, sorted
    group_of: np.ndarray  # (classes,) each class row's group, -1 for a class without keywords


def group_classes(class_keywords: sp.csr_matrix) -> ClassGroups:
    """:class:`ClassGroups` of a class-keyword matrix, groups in the order of their first class."""
    first: dict[bytes, int] = {}
    columns: list[np.ndarray] = []
    group_of = np.full(class_keywords.shape[0], -1, dtype=np.int64)
    for c in range(class_keywords.shape[0]):
        cols = _row_columns(class_keywords, c)
        if len(cols):
            group = first.setdefault(cols.tobytes(), len(columns))
            if group == len(columns):
                columns.append(cols)
            group_of[c] = group
    return ClassGroups(columns, group_of)


def _pieces(columns: list[np.ndarray], weights: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Pieces of evidence that name the same keywords merged, then :func:`_normalised_pieces`."""
    merged: dict[bytes, tuple[np.ndarray, float]] = {}
    for cols, weight in zip(columns, weights):
        if len(cols):
            key = cols.tobytes()
            merged[key] = (cols, merged[key][1] + float(weight) if key in merged else float(weight))
    return _normalised_pieces(list(merged.values()))


def _normalised_pieces(pieces: list[tuple[np.ndarray, float]]) -> list[tuple[np.ndarray, float]]:
    """The pieces with weight, weights scaled to sum to 1, and pieces below ``_MIN_SOURCE`` of it dropped."""
    pieces = [(cols, weight) for cols, weight in pieces if weight > 0]
    total = sum(weight for _, weight in pieces)
    if total <= 0:
        return []
    return [(cols, weight / total) for cols, weight in pieces if weight / total >= _MIN_SOURCE]


class _ResetCache(Generic[K, V]):
    """Values by key, kept for the keys asked for most recently (at most ``size``; when full it starts
    again). Plain dictionary operations, so threads can share one and a model that holds one pickles."""

    def __init__(self, size: int) -> None:
        self._size = max(1, int(size))
        self._values: dict[Hashable, V] = {}

    def _key(self, item: K) -> Hashable:
        return item

    def _compute(self, item: K) -> V:
        raise NotImplementedError

    def __call__(self, item: K) -> V:
        key = self._key(item)
        value = self._values.get(key)
        if value is None:
            if len(self._values) >= self._size:
                self._values = {}
            value = self._values[key] = self._compute(item)
        return value

    def __len__(self) -> int:
        return len(self._values)


class PieceColumns(_ResetCache[np.ndarray, tuple[np.ndarray, np.ndarray]]):
    """The songs that sing of a piece of evidence's words, and how much (the best of its words), by its
    keyword columns, for the pieces seen most recently (at most ``size``): a nearest image of 海, 沙,
    浪 and 岸 is the same union for every photo near it."""

    def __init__(self, by_word: sp.csc_matrix, size: int = 512) -> None:
        super().__init__(size)
        self.by_word = by_word

    def _key(self, item: np.ndarray) -> Hashable:
        return np.asarray(item, dtype=np.int64).tobytes()

    def _compute(self, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _best_of_columns(self.by_word, item)


def _best_of_columns(by_word: sp.csc_matrix, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(song rows, best value among ``cols``) of the songs with a value in any of the columns."""
    lines = [sparse_line(by_word, int(j)) for j in cols]
    if len(lines) == 1:
        return lines[0]
    rows = np.concatenate([line[0] for line in lines])
    data = np.concatenate([line[1] for line in lines])
    order = np.lexsort((-data, rows))  # by song, its best value first
    rows, data = rows[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    return rows[first], data[first]


def evidence_relevance(
    evidence: Evidence, by_word: sp.csc_matrix, match: EvidenceMatch = "sources", *, pieces: PieceColumns | None = None
) -> np.ndarray:
    """Every song's relevance to the evidence, in [0, 1] (``by_word``: :func:`song_relevance`, CSC;
    ``pieces``, when given, a :class:`PieceColumns` of the same matrix).

    ``match="sources"`` (the default): the summed weight of the pieces of evidence (each nearest image,
    each group of likely classes) whose keywords the song sings of, a piece counting once, by the
    best of its words the song sings of. That is how likely the song is to fit the photo if each piece is
    what the photo shows: a song of 海 alone fits a coast photo as well as one of 海, 浪 and 沙, and a song
    that fits two different neighbours (a coast and a field) hedges between them.

    ``match="words"``: the summed share of each evidence keyword the song sings of, so a neighbour
    with four keywords gives a song that sings of one of them a quarter of its weight (the rule before
    sources; kept for the ablation).
    """
    if match not in EVIDENCE_MATCHES:
        raise ValueError(f"evidence match must be one of {', '.join(EVIDENCE_MATCHES)}, got {match!r}")
    if match == "words":
        return np.asarray(by_word @ evidence.keywords).ravel()
    # pieces of one word are a sum over words, one sparse product; the others a union each
    single = np.zeros(by_word.shape[1])
    multi = []
    for cols, weight in evidence.sources:
        if len(cols) == 1:
            single[int(cols[0])] += weight
        else:
            multi.append((cols, weight))
    out = np.asarray(by_word @ single).ravel()
    for cols, weight in multi:
        rows, data = _best_of_columns(by_word, cols) if pieces is None else pieces(cols)
        out[rows] += weight * data
    return out


def song_relevance(weights: sp.csr_matrix, counts: sp.csr_matrix | None, rule: RelevanceRule = "any") -> sp.csr_matrix:
    """How much each song sings of each keyword, in (0, 1], for the second stage's keyword term.

    ``rule="any"`` (the default): 1 for every keyword the song sings of, whatever else it sings of or how
    often. The question the term answers is whether a song sings of what the photo shows; how central
    the image is to the song is already in the graph (the song-keyword edges are weighted by the lines
    that hold it, so LINE places a song near its main images), and a song that sings of two of the
    evidence words scores the sum of their shares, above one that sings of either.

    ``rule="lines"``: ``1 - 2**-lines`` of the lines that hold it (one line .5, two .75, three .875), so a
    song that returns to an image scores above one that mentions it in passing; without counts (a model
    built before them) the keyword weights stand in. On held-out real photos it ranked songs of two
    evidence words below songs that repeat one, and scored lower (see ``experiments/hit_rate.py --photos``).
    """
    if rule not in RELEVANCE_RULES:
        raise ValueError(f"relevance rule must be one of {', '.join(RELEVANCE_RULES)}, got {rule!r}")
    if rule == "any":
        out = sp.csr_matrix(weights, dtype=np.float32, copy=True)
        out.eliminate_zeros()
        out.data[:] = 1.0
        return out
    if counts is None:
        return sp.csr_matrix(weights, dtype=np.float32)
    out = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    out.data = (1.0 - np.exp2(-out.data)).astype(np.float32)
    return out


def lyric_substance(lyrics: Sequence[str], *, target_chars: float) -> np.ndarray:
    """Per song, how much it is a typical song, in (0, 1]: 1 at ``target_chars`` characters, less both ways.

    A log-normal bump, ``exp(-ln(n / target)**2 / (2 ln(2)**2))``: half or twice the target gives .61, a
    quarter or four times .14. A one-line scrap is rarely the best answer for a photo, and a forty-aria
    suite is no song to hand someone either; relevance that grows with the lines holding an image
    would otherwise favour the longest songs.
    """
    counts = np.array([sum(1 for ch in text if ch.isalnum()) for text in lyrics], dtype=np.float64)
    ratio = np.maximum(counts, 1.0) / max(target_chars, 1.0)
    return np.exp(-np.log(ratio) ** 2 / (2 * np.log(2.0) ** 2)).astype(np.float32)


@dataclass(frozen=True)
class RankWeights:
    """How the second stage mixes its three signals, and how it spreads the ``k`` places."""

    line: float = 1.0  # LINE cosine of the song to the evidence point
    keywords: float = 3.0  # the song's relevance to the evidence (:func:`evidence_relevance`)
    substance: float = 0.5  # how near the song's length is to a typical song's
    pool: int = 300  # best-scored songs the proportional selection chooses from
    min_share: float = 0.1  # evidence keywords below this share get no place of their own
    duplicate_overlap: float = 0.6  # character-bigram overlap above which two lyrics count as the same song
    variety: float = 0.0  # Gumbel scale of the seeded Plackett-Luce draw among candidates (0 = pure score order)
    match: EvidenceMatch = "sources"  # how relevance adds up over the evidence (:func:`evidence_relevance`)


def _best(rows: np.ndarray, key: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` rows with the highest ``key``, best first (ties by row, for determinism)."""
    if len(rows) > n:
        rows = rows[np.argpartition(-key[rows], n - 1)[:n]]
    return rows[np.lexsort((rows, -key[rows]))]


def lyric_bigrams(text: str) -> frozenset[str]:
    """The character bigrams of a lyric's letters and digits (punctuation and spaces skipped): what the
    second stage compares to skip near-duplicate lyrics."""
    chars = [ch for ch in text if ch.isalnum()]
    return frozenset(a + b for a, b in zip(chars, chars[1:]))


class BigramCache(_ResetCache[int, frozenset[str]]):
    """:func:`lyric_bigrams` by song row, kept for the songs asked for most recently (at most ``size``):
    the second stage's duplicate check reads them for every photo."""

    def __init__(self, lyrics: Sequence[str], size: int) -> None:
        super().__init__(size)
        self._lyrics = lyrics

    def _compute(self, item: int) -> frozenset[str]:
        return lyric_bigrams(self._lyrics[item])


def rank_songs(
    evidence: Evidence,
    *,
    song_vectors: np.ndarray,
    song_keywords: sp.spmatrix,
    substance: np.ndarray,
    lyrics: Sequence[str],
    k: int,
    weights: RankWeights,
    seed: int = 0,
    closeness: np.ndarray | None = None,
    relevance: np.ndarray | None = None,
    bigrams: Callable[[int], frozenset[str]] | None = None,
    pieces: PieceColumns | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` song rows for ``evidence`` and their scores, best first (``song_vectors`` unit length;
    ``song_keywords`` the songs' keyword relevance, ``(songs, keywords)``, fastest in CSC form;
    ``closeness`` and ``relevance``, when given, every song's ``song_vectors @ evidence.point`` and
    ``evidence_relevance(evidence, song_keywords, weights.match)``, the latter computed for a batch
    of photos in one matrix product under ``match="words"``;
    ``bigrams``, when given, a song row's :func:`lyric_bigrams` (a cache of them, say); ``pieces``, when
    given, a :class:`PieceColumns` of ``song_keywords`` for computing ``relevance``).

    The songs that carry an evidence keyword are scored, and the best ``weights.pool`` of them are the
    candidates (the best of the others follow them, for places nothing else can fill). With
    ``weights.variety`` > 0 the candidates are ordered by their scores plus seeded Gumbel noise of that
    scale (a Plackett-Luce draw), else by score. Places are handed out one at a time to the evidence
    keyword with the highest ``share / (2 * seats + 1)`` (Sainte-Laguë), and each goes to the first
    candidate that sings of that keyword, not yet chosen and not a near-duplicate of one chosen (a song
    that sings of two evidence words can take a place of either); when a keyword has no candidate left,
    the first remaining candidate takes the place and counts for the evidence keyword it carries most.
    The chosen songs are returned by score.
    """
    if evidence.empty or k < 1:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    # Column access: the evidence names a handful of words, so the work is the songs that carry them,
    # not a pass over every song (a CSR matrix is converted once here; the recommender passes CSC).
    by_word = song_keywords if song_keywords.format == "csc" else sp.csc_matrix(song_keywords)
    n_songs = by_word.shape[0]

    if relevance is None:
        relevance = evidence_relevance(evidence, by_word, weights.match, pieces=pieces)
    if closeness is None:
        # every song's, not the carriers' only: one pass of a matrix-vector product over contiguous rows
        # is several times faster than gathering even a tenth of the rows first
        closeness = song_vectors @ evidence.point

    def scores_of(rows: np.ndarray) -> np.ndarray:
        return weights.line * closeness[rows] + weights.keywords * relevance[rows] + weights.substance * substance[rows]

    rng = np.random.default_rng(seed) if weights.variety > 0 else None

    def order_keys(values: np.ndarray) -> np.ndarray:
        key = values.astype(np.float64)
        return key if rng is None else key + weights.variety * rng.gumbel(size=len(key))

    words = np.flatnonzero(evidence.keywords >= weights.min_share)
    if len(words) == 0:
        words = np.array([int(np.argmax(evidence.keywords))])
    # candidates sing of a word that has a real share of the evidence
    carries = np.zeros(n_songs, dtype=bool)
    for w in words:
        carries[sparse_line(by_word, int(w))[0]] = True
    carriers = np.flatnonzero(carries)
    carrier_scores = scores_of(carriers)
    local = _best(np.arange(len(carriers)), order_keys(carrier_scores), max(weights.pool, k))
    pool, pool_scores = carriers[local], carrier_scores[local]
    if len(pool) < k:  # too few songs sing of the evidence: the closest others fill the rest
        others = np.setdiff1d(np.arange(n_songs), carriers, assume_unique=True)
        other_scores = scores_of(others)
        local = _best(np.arange(len(others)), order_keys(other_scores), k - len(pool))
        pool = np.concatenate([pool, others[local]])
        pool_scores = np.concatenate([pool_scores, other_scores[local]])
    share = evidence.keywords[words]
    position = np.full(n_songs, -1, dtype=np.int64)
    position[pool] = np.arange(len(pool))
    carried = np.zeros((len(pool), len(words)))  # (pool, aspects): the pool songs' relevance to each aspect, times its share
    for a, w in enumerate(words):
        rows_w, data_w = sparse_line(by_word, int(w))
        at = position[rows_w]
        carried[at[at >= 0], a] = data_w[at >= 0] * share[a]
    aspect_of = np.where(carried.max(axis=1) > 0, carried.argmax(axis=1), -1)
    seats = np.zeros(len(words))
    chosen: list[int] = []
    taken = np.zeros(len(pool), dtype=bool)
    grams: list[frozenset[str]] = []

    def novel(row: int) -> frozenset[str] | None:
        """The song's lyric bigrams, or None when it is a near-duplicate of one chosen."""
        mine = bigrams(row) if bigrams is not None else lyric_bigrams(lyrics[row])
        for other in grams:
            small = min(len(mine), len(other))
            if small and len(mine & other) / small > weights.duplicate_overlap:
                return None
        return mine

    while len(chosen) < min(k, len(pool)):
        aspect = int(np.argmax(share / (2 * seats + 1)))
        picked = None
        for order in (np.flatnonzero((carried[:, aspect] > 0) & ~taken), np.flatnonzero(~taken)):
            for j in order:
                taken[j] = True  # a near-duplicate is passed over for good
                mine = novel(int(pool[j]))
                if mine is not None:
                    picked = int(j)
                    grams.append(mine)
                    break
            if picked is not None:
                break
        if picked is None:
            break
        chosen.append(picked)
        if carried[picked, aspect] > 0 or aspect_of[picked] < 0:
            seats[aspect] += 1
        else:  # a song of another aspect filled the place: it counts for the aspect it carries most
            seats[aspect_of[picked]] += 1
    rows, row_scores = pool[chosen].astype(np.int64), pool_scores[chosen]
    order = np.lexsort((rows, -row_scores))
    return rows[order], row_scores[order].astype(np.float32)
