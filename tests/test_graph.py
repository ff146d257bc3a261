"""The bipartite graph: node/edge counts and weights on a hand-made keyword result and image set."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from graphrec.data.images import ImageRecord, ImageSet
from graphrec.text.mapping import map_to_vocabulary
from graphrec.data.songs import Song, SongCorpus
from graphrec.errors import InputError, UnknownKeywordError
from graphrec.graph.build import IMAGE, KEYWORD, SONG, BipartiteGraph, build_graph
from graphrec.text.keywords import KeywordConfig, KeywordResult, extract_keywords

VOCAB = ["雪", "月", "花"]


def keywords() -> KeywordResult:
    # s1: 雪 1.0, 月 0.5 ; s2: 花 1.0
    weights = sp.csr_matrix(np.array([[1.0, 0.5, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32))
    return KeywordResult(vocabulary=list(VOCAB), song_ids=["s1", "s2"], weights=weights, dropped_song_ids=["s3"], stats={})


def images() -> ImageSet:
    return ImageSet(
        [ImageRecord("i1", "/i1.png", ("雪",), (1.0,)), ImageRecord("i2", "/i2.png", ("月", "花"), (0.5, 1.0))], {}
    )


def test_nodes_edges_and_weights_known_answer():
    graph = build_graph(keywords(), images(), image_keyword_weight=2.0)
    assert graph.node_ids == ["song:s1", "song:s2", "image:i1", "image:i2", "kw:雪", "kw:月", "kw:花"]
    assert graph.node_kind.tolist() == [SONG, SONG, IMAGE, IMAGE, KEYWORD, KEYWORD, KEYWORD]
    edges = {(graph.node_ids[s], graph.node_ids[d]): float(w) for s, d, w in zip(graph.src, graph.dst, graph.weight)}
    assert edges == {
        ("song:s1", "kw:雪"): 1.0, ("song:s1", "kw:月"): 0.5, ("song:s2", "kw:花"): 1.0,
        ("image:i1", "kw:雪"): 2.0, ("image:i2", "kw:月"): 1.0, ("image:i2", "kw:花"): 2.0,
    }
    assert graph.src.dtype == np.int32 and graph.weight.dtype == np.float32
    assert graph.index("kw:月") == 5
    with pytest.raises(KeyError, match="song:nope"):
        graph.index("song:nope")


def test_directed_has_each_edge_both_ways():
    graph = build_graph(keywords(), images())
    src, dst, weight = graph.directed()
    assert len(src) == 2 * graph.num_edges == 12
    forward = set(zip(graph.src.tolist(), graph.dst.tolist()))
    assert set(zip(src.tolist(), dst.tolist())) == forward | {(d, s) for s, d in forward}
    assert weight.sum() == pytest.approx(2 * graph.weight.sum())


def test_degree_stats_and_networkx():
    graph = build_graph(keywords(), images())
    stats = graph.degree_stats()
    assert (stats["nodes"], stats["edges"], stats["song_nodes"], stats["image_nodes"], stats["keyword_nodes"]) == (7, 6, 2, 2, 3)
    assert stats["song_keyword_edges"] == 3 and stats["image_keyword_edges"] == 3
    assert stats["keyword_degree"] == {"min": 2, "median": 2.0, "mean": 2.0, "max": 2, "isolated": 0}
    g = graph.to_networkx()
    assert g.number_of_nodes() == 7 and g.number_of_edges() == 6
    assert g.nodes["image:i2"]["kind"] == "image" and g.nodes["kw:花"]["kind"] == "keyword"
    assert g["song:s1"]["kw:月"]["weight"] == pytest.approx(0.5)
    assert graph.degrees()[graph.index("kw:雪")] == pytest.approx(2.0)


def test_graphml_round_trip(tmp_path):
    graph = build_graph(keywords(), images())
    path = tmp_path / "sub" / "g.graphml"
    graph.write_graphml(path)
    back = nx.read_graphml(path)
    assert back.number_of_nodes() == 7 and back.number_of_edges() == 6
    assert back.nodes["kw:雪"]["kind"] == "keyword"
    assert float(back["image:i2"]["kw:花"]["weight"]) == pytest.approx(1.0)
    assert [p.name for p in path.parent.iterdir()] == ["g.graphml"]  # no temporary file left


def test_unknown_image_keyword_is_named():
    bad = ImageSet([ImageRecord("i9", "/i9.png", ("雪花",), (1.0,))], {})
    with pytest.raises(UnknownKeywordError, match="雪花.*map_to_vocabulary"):
        build_graph(keywords(), bad)


def test_non_positive_weights_are_rejected():
    result = keywords()
    result.weights = sp.csr_matrix(np.array([[1.0, -0.5, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32))
    with pytest.raises(InputError, match="s1.*-0.5.*月"):
        build_graph(result, images())
    with pytest.raises(InputError, match="image_keyword_weight"):
        build_graph(keywords(), images(), image_keyword_weight=0)
    with pytest.raises(InputError, match="> 0"):
        BipartiteGraph(["a", "b"], np.array([0, 2]), np.array([0]), np.array([1]), np.array([0.0]))


def test_end_to_end_from_lyrics_and_labelled_images():
    songs = SongCorpus([Song("x", "", "", "雪，雪，月"), Song("y", "", "", "桃花"), Song("z", "", "", "之乎者也")])
    result = extract_keywords(songs, KeywordConfig(vocabulary=tuple(VOCAB), cache_dir="", workers=1))
    labelled = ImageSet([ImageRecord("flake", "/f.png", ("雪花",), (1.0,)), ImageRecord("face", "/g.png", ("笑脸",), (1.0,))], {})
    mapped, stats = map_to_vocabulary(labelled, result.vocabulary)
    graph = build_graph(result, mapped)
    assert stats["images_dropped"] == 1
    assert graph.node_ids == ["song:x", "song:y", "image:flake", "kw:雪", "kw:月", "kw:花"]
    assert graph.num_edges == 4  # x-雪, x-月, y-花, flake-雪
