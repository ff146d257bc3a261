"""The weighted bipartite graph of the paper: songs and images on one side, keywords on the other.

Node ids are typed (``song:<id>``, ``image:<id>``, ``kw:<word>``, ``class:<id>``) so a song and an image
with the same id, or a keyword spelled like an id, never collide. Edge weights: song-keyword = the
keyword's weight in the song (`KeywordResult.weights`), image-keyword = the manifest weight x
``image_keyword_weight``. The classifier bridge adds a third kind on the song side: the classes of an
image classifier (ImageNet's "seashore", "alp", ...), each tied to the keywords its reviewed table
names (class-keyword = the table's weight x ``class_keyword_weight``), so that LINE places a class
where the songs and images of its keywords are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from graphrec._io import atomic_writer
from graphrec.errors import InputError, UnknownKeywordError

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from graphrec.data.images import ImageSet
    from graphrec.text.keywords import KeywordResult

SONG, IMAGE, KEYWORD, CLASS = 0, 1, 2, 3
KIND_NAMES = {SONG: "song", IMAGE: "image", KEYWORD: "keyword", CLASS: "class"}


@dataclass
class ClassNodes:
    """Classifier classes tied to vocabulary keywords: the classifier bridge's part of the graph.

    ``ids[i]`` names class row i (its index in the classifier, as a string, since labels repeat:
    ImageNet has two "crane"s); ``keywords`` is ``(len(ids), len(vocabulary))`` with weights in (0, 1]
    and at least one keyword per row (classes without one have no place in the graph).
    """

    ids: list[str]
    labels: list[str]
    keywords: sp.csr_matrix

    def __post_init__(self) -> None:
        self.keywords = sp.csr_matrix(self.keywords, dtype=np.float32)
        if not (len(self.ids) == len(self.labels) == self.keywords.shape[0]):
            raise InputError(
                f"ClassNodes: {len(self.ids)} ids, {len(self.labels)} labels and {self.keywords.shape[0]} keyword rows; "
                "give one of each per class."
            )
        if len(set(self.ids)) != len(self.ids):
            raise InputError("ClassNodes: class ids repeat; give each class once.")
        empty = np.flatnonzero(np.diff(self.keywords.indptr) == 0)
        if len(empty):
            raise InputError(f"ClassNodes: class {self.labels[empty[0]]!r} has no keyword; leave such classes out.")
        if self.keywords.nnz and not (np.all(np.isfinite(self.keywords.data)) and self.keywords.data.min() > 0 and self.keywords.data.max() <= 1):
            raise InputError("ClassNodes: class-keyword weights must be in (0, 1].")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class BipartiteGraph:
    """Nodes with kinds, and each undirected edge once (song/image -> keyword) with a weight > 0."""

    node_ids: list[str]
    node_kind: np.ndarray  # int8: 0 song, 1 image, 2 keyword
    src: np.ndarray  # int32
    dst: np.ndarray  # int32
    weight: np.ndarray  # float32 > 0
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.node_kind = np.asarray(self.node_kind, dtype=np.int8)
        self.src = np.asarray(self.src, dtype=np.int32)
        self.dst = np.asarray(self.dst, dtype=np.int32)
        self.weight = np.asarray(self.weight, dtype=np.float32)
        self._index = {node: i for i, node in enumerate(self.node_ids)}
        if len(self._index) != len(self.node_ids):
            raise InputError("graph node ids repeat; every song, image and keyword must appear once.")
        if len(self.node_kind) != len(self.node_ids):
            raise InputError(f"node_kind has {len(self.node_kind)} entries for {len(self.node_ids)} nodes.")
        if not (len(self.src) == len(self.dst) == len(self.weight)):
            raise InputError("src, dst and weight must have the same length (one entry per edge).")
        if len(self.weight) and not (np.all(np.isfinite(self.weight)) and self.weight.min() > 0):
            raise InputError(f"edge weights must be finite and > 0; the smallest is {float(self.weight.min())!r}.")
        n = len(self.node_ids)
        if len(self.src) and (min(self.src.min(), self.dst.min()) < 0 or max(self.src.max(), self.dst.max()) >= n):
            raise InputError(f"edge endpoints must be node indices in [0, {n}).")

    @property
    def num_nodes(self) -> int:
        return len(self.node_ids)

    @property
    def num_edges(self) -> int:
        return len(self.src)

    def index(self, node_id: str) -> int:
        try:
            return self._index[node_id]
        except KeyError:
            raise KeyError(
                f"no node {node_id!r} in the graph; node ids look like 'song:<id>', 'image:<id>', 'kw:<word>', 'class:<id>'"
            ) from None

    def directed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each undirected edge in both directions (what LINE samples from)."""
        return (
            np.concatenate([self.src, self.dst]).astype(np.int32),
            np.concatenate([self.dst, self.src]).astype(np.int32),
            np.concatenate([self.weight, self.weight]).astype(np.float32),
        )

    def degrees(self, weighted: bool = True) -> np.ndarray:
        """Per-node (weighted) degree, float64."""
        w = self.weight.astype(np.float64) if weighted else np.ones(len(self.src))
        return np.bincount(self.src, w, minlength=self.num_nodes) + np.bincount(self.dst, w, minlength=self.num_nodes)

    def to_networkx(self) -> "nx.Graph":
        import networkx as nx

        graph = nx.Graph()
        graph.add_nodes_from((node, {"kind": KIND_NAMES[int(k)]}) for node, k in zip(self.node_ids, self.node_kind))
        graph.add_weighted_edges_from(
            (self.node_ids[s], self.node_ids[d], float(w)) for s, d, w in zip(self.src.tolist(), self.dst.tolist(), self.weight.tolist())
        )
        return graph

    def degree_stats(self) -> dict[str, Any]:
        """Counts of nodes and edges and degree summaries per kind (for logs and the model manifest)."""
        deg = self.degrees(weighted=False)
        stats: dict[str, Any] = {"nodes": self.num_nodes, "edges": self.num_edges}
        for kind, name in KIND_NAMES.items():
            d = deg[self.node_kind == kind]
            stats[f"{name}_nodes"] = int(len(d))
            if len(d):
                stats[f"{name}_degree"] = {
                    "min": int(d.min()), "median": float(np.median(d)), "mean": round(float(d.mean()), 3), "max": int(d.max()),
                    "isolated": int((d == 0).sum()),
                }
        kinds = self.node_kind[self.src]
        stats["song_keyword_edges"] = int((kinds == SONG).sum())
        stats["image_keyword_edges"] = int((kinds == IMAGE).sum())
        stats["class_keyword_edges"] = int((kinds == CLASS).sum())
        return stats

    def write_graphml(self, path: str | Path) -> None:
        """GraphML (readable by networkx.read_graphml and Gephi), written atomically."""
        import networkx as nx

        with atomic_writer(path, "wb") as handle:
            nx.write_graphml(self.to_networkx(), handle, encoding="utf-8")


def build_graph(
    keywords: "KeywordResult",
    images: "ImageSet",
    image_keyword_weight: float = 1.0,
    *,
    classes: ClassNodes | None = None,
    class_keyword_weight: float = 1.0,
) -> BipartiteGraph:
    """The song-keyword and image-keyword graph, with class-keyword edges when ``classes`` are given.

    Node order: songs, images, keywords (vocabulary order), classes.

    Images must already be labelled with vocabulary words (see `graphrec.text.mapping.map_to_vocabulary`);
    an unknown keyword raises `UnknownKeywordError` naming it.
    """
    if not image_keyword_weight > 0:
        raise InputError(f"image_keyword_weight must be > 0, got {image_keyword_weight!r}.")
    if not class_keyword_weight > 0:
        raise InputError(f"class_keyword_weight must be > 0, got {class_keyword_weight!r}.")
    vocabulary = list(keywords.vocabulary)
    column = {w: j for j, w in enumerate(vocabulary)}
    matrix = keywords.weights.tocsr()
    if matrix.shape != (len(keywords.song_ids), len(vocabulary)):
        raise InputError(
            f"keyword weights have shape {matrix.shape} but there are {len(keywords.song_ids)} songs and "
            f"{len(vocabulary)} keywords; pass an unmodified KeywordResult."
        )
    if matrix.nnz and not (np.all(np.isfinite(matrix.data)) and matrix.data.min() > 0):
        bad = int(np.argmin(matrix.data))
        row = int(np.searchsorted(matrix.indptr, bad, side="right") - 1)
        raise InputError(
            f"song {keywords.song_ids[row]!r} has keyword weight {float(matrix.data[bad])!r} for "
            f"{vocabulary[matrix.indices[bad]]!r}; weights must be > 0 (drop the entry instead of storing 0)."
        )
    n_songs, n_images = len(keywords.song_ids), len(images)
    node_ids = [f"song:{s}" for s in keywords.song_ids] + [f"image:{r.id}" for r in images] + [f"kw:{w}" for w in vocabulary]
    kinds = np.concatenate([
        np.full(n_songs, SONG, np.int8), np.full(n_images, IMAGE, np.int8), np.full(len(vocabulary), KEYWORD, np.int8)
    ])
    kw_offset = n_songs + n_images
    coo = matrix.tocoo()
    song_src = coo.row.astype(np.int64)
    song_dst = coo.col.astype(np.int64) + kw_offset
    song_w = coo.data.astype(np.float32)

    img_src: list[int] = []
    img_dst: list[int] = []
    img_w: list[float] = []
    for i, record in enumerate(images):
        for kw, w in zip(record.keywords, record.weights):
            j = column.get(kw)
            if j is None:
                raise UnknownKeywordError(
                    f"image {record.id!r} has keyword {kw!r}, which is not in the {len(vocabulary)}-word vocabulary "
                    f"({'、'.join(vocabulary[:8])}…); map the images first with graphrec.text.mapping.map_to_vocabulary "
                    "or add the word to KeywordConfig(vocabulary=...)."
                )
            if not (np.isfinite(w) and w > 0):
                raise InputError(f"image {record.id!r}: weight {w!r} of keyword {kw!r} must be > 0; give a weight in (0, 1].")
            img_src.append(n_songs + i)
            img_dst.append(kw_offset + j)
            img_w.append(float(w) * image_keyword_weight)
    cls_src = cls_dst = np.zeros(0, np.int64)
    cls_w = np.zeros(0, np.float32)
    if classes is not None and len(classes):
        if classes.keywords.shape[1] != len(vocabulary):
            raise InputError(
                f"class keywords have {classes.keywords.shape[1]} columns but the vocabulary has {len(vocabulary)} words; "
                "map the class table onto this vocabulary (graphrec.stages.class_nodes)."
            )
        offset = len(node_ids)
        node_ids = node_ids + [f"class:{c}" for c in classes.ids]
        kinds = np.concatenate([kinds, np.full(len(classes), CLASS, np.int8)])
        ccoo = classes.keywords.tocoo()
        cls_src = ccoo.row.astype(np.int64) + offset
        cls_dst = ccoo.col.astype(np.int64) + kw_offset
        cls_w = ccoo.data.astype(np.float32) * class_keyword_weight
    return BipartiteGraph(
        node_ids=node_ids,
        node_kind=kinds,
        src=np.concatenate([song_src, np.asarray(img_src, dtype=np.int64), cls_src]).astype(np.int32),
        dst=np.concatenate([song_dst, np.asarray(img_dst, dtype=np.int64), cls_dst]).astype(np.int32),
        weight=np.concatenate([song_w, np.asarray(img_w, dtype=np.float32), cls_w]),
    )
