"""LINE on a graph whose answer is obvious: two keyword communities that share nothing."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from graphrec.embed.keyed import to_keyed_vectors, write_word2vec_binary
from graphrec.embed.line import LineConfig, LineResult, default_samples, train_line
from graphrec.errors import InputError

KEYWORDS_PER_COMMUNITY = 6
NODES_PER_COMMUNITY = 60  # songs and images
SAMPLES = 150_000


def two_communities(seed: int = 0):
    """Keywords 0-11 (A: 0-5, B: 6-11), then song/image nodes; each node links to 3 keywords of its community."""
    rng = np.random.default_rng(seed)
    n_kw = 2 * KEYWORDS_PER_COMMUNITY
    community = [0] * KEYWORDS_PER_COMMUNITY + [1] * KEYWORDS_PER_COMMUNITY
    src, dst, weight = [], [], []
    node = n_kw
    for c in (0, 1):
        for _ in range(NODES_PER_COMMUNITY):
            for kw in rng.choice(KEYWORDS_PER_COMMUNITY, size=3, replace=False) + c * KEYWORDS_PER_COMMUNITY:
                w = rng.uniform(0.2, 1.0)
                src += [node, kw]  # each undirected edge in both directions, as LINE expects
                dst += [kw, node]
                weight += [w, w]
            community.append(c)
            node += 1
    return np.array(src), np.array(dst), np.array(weight), node, np.array(community)


GRAPH = two_communities()


def train(**overrides) -> LineResult:
    src, dst, weight, n, _ = GRAPH
    config = LineConfig(**{"dim": 16, "samples": SAMPLES, "threads": 1, "seed": 3, **overrides})
    return train_line(src, dst, weight, n, config, show_progress=False)


def neighbour_purity(vectors: np.ndarray, community: np.ndarray, k: int) -> float:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    top = np.argsort(-sim, axis=1)[:, :k]
    return float((community[top] == community[:, None]).mean())


@pytest.mark.parametrize("order", [1, 2, "both"])
def test_nearest_neighbours_stay_in_their_community(order):
    community = GRAPH[4]
    result = train(order=order)
    assert result.vectors.dtype == np.float32
    assert result.vectors.shape == (GRAPH[3], 32 if order == "both" else 16)
    assert neighbour_purity(result.vectors, community, k=1) == 1.0
    assert neighbour_purity(result.vectors, community, k=10) > 0.95
    # The check has teeth: random vectors of the same shape score about one half.
    rng = np.random.default_rng(0)
    assert neighbour_purity(rng.normal(size=result.vectors.shape), community, k=10) < 0.7


def test_both_is_two_normalised_halves():
    result = train(order="both")
    first, second = train(order=1).vectors, train(order=2).vectors
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, rtol=1e-5)
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    expected = np.hstack([unit(first), unit(second)]) / math.sqrt(2)
    np.testing.assert_allclose(result.vectors, expected, rtol=1e-4, atol=1e-6)
    assert sorted(result.loss_by_order) == [1, 2]
    assert result.loss_history == result.loss_by_order[1] + result.loss_by_order[2]


@pytest.mark.parametrize(("order", "ratio"), [(1, 0.975), (2, 0.8)])
def test_loss_falls(order, ratio):
    # Order 1 falls less: hubs drawn as their own negatives (kept, as in the reference) add a loss that stays.
    history = train(order=order).loss_history
    assert len(history) == 50
    assert np.mean(history[-5:]) < ratio * np.mean(history[:5])


def test_same_seed_one_thread_is_bit_identical():
    a, b, c = train(order="both", seed=11), train(order="both", seed=11), train(order="both", seed=12)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.loss_history == b.loss_history
    assert not np.array_equal(a.vectors, c.vectors)


def test_two_threads_learn_the_same_structure():
    result = train(order=2, threads=2)
    assert result.threads == 2
    assert neighbour_purity(result.vectors, GRAPH[4], k=1) == 1.0


def test_callback_progress_and_result_fields():
    calls = []
    src, dst, weight, n, _ = GRAPH
    config = LineConfig(dim=8, order="both", samples=2_000, threads=1)
    result = train_line(src, dst, weight, n, config, show_progress=False, callback=lambda step, loss: calls.append((step, loss)))
    assert [s for s, _ in calls] == list(range(100))
    assert [loss for _, loss in calls] == result.loss_history
    assert result.samples == 2_000 and result.samples_per_s > 0 and result.train_seconds > 0


def test_initialisation_matches_the_reference():
    # Node 999 has no edges, so it keeps its initial vector: uniform in [-0.5/dim, 0.5/dim].
    src, dst, weight, n, _ = GRAPH
    for order in (1, 2):
        result = train_line(src, dst, weight, 1000, LineConfig(dim=16, order=order, samples=1000, threads=1), show_progress=False)
        untouched = result.vectors[n:]
        assert np.abs(untouched).max() <= 0.5 / 16
        assert untouched.std() > 0.1 * (0.5 / 16)  # random, not zero


def test_default_samples():
    assert LineConfig().samples is None
    assert default_samples(10) == 1_000_000
    assert default_samples(700_000) == 35_000_000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dim", 0),
        ("dim", 1.5),
        ("order", 3),
        ("order", "first"),
        ("negative", 0),
        ("samples", 0),
        ("samples", 10.0),
        ("rho", 0.0),
        ("rho", float("nan")),
        ("seed", -1),
        ("threads", -1),
        ("threads", True),
    ],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"LineConfig\.{field} must be .*got {value!r}"):
        LineConfig(**{field: value})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        LineConfig().dim = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("src", "dst", "weight", "num_nodes", "fragment"),
    [
        ([], [], [], 3, "no edges"),
        ([0, 1], [1, 0], [1.0, -1.0], 2, ">= 0"),
        ([0, 1], [1, 0], [1.0, np.nan], 2, "finite"),
        ([0, 1], [1, 0], [0.0, 0.0], 2, "every edge weight is 0"),
        ([0, 5], [5, 0], [1.0, 1.0], 3, "outside"),
        ([0, -1], [1, 0], [1.0, 1.0], 3, "outside"),
        ([0, 1], [1], [1.0, 1.0], 2, "one entry per directed edge"),
        ([0.0, 1.0], [1, 0], [1.0, 1.0], 2, "integer"),
        ([0, 1], [1, 0], [1.0, 1.0], 0, "num_nodes"),
    ],
)
def test_bad_inputs_raise(src, dst, weight, num_nodes, fragment):
    with pytest.raises(InputError, match=fragment):
        train_line(np.array(src), np.array(dst), np.array(weight), num_nodes, LineConfig(dim=4, samples=10))


def test_bad_config_type_raises():
    with pytest.raises(ValueError, match="LineConfig"):
        train_line(GRAPH[0], GRAPH[1], GRAPH[2], GRAPH[3], {"dim": 4})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- keyed vectors


def test_keyed_vectors_answer_most_similar():
    result = train(order=2)
    ids = [f"node:{i}" for i in range(result.vectors.shape[0])]
    kv = to_keyed_vectors(ids, result.vectors)
    assert kv.index_to_key == ids
    np.testing.assert_array_equal(kv["node:20"], result.vectors[20])
    community = GRAPH[4]
    assert all(community[kv.key_to_index[key]] == community[20] for key, _ in kv.most_similar("node:20", topn=5))


def test_keyed_vectors_reject_bad_input():
    with pytest.raises(InputError, match="unique"):
        to_keyed_vectors(["a", "a"], np.zeros((2, 3), np.float32))
    with pytest.raises(InputError, match="2 node ids but 3"):
        to_keyed_vectors(["a", "b"], np.zeros((3, 3), np.float32))
    with pytest.raises(InputError, match="finite"):
        to_keyed_vectors(["a"], np.full((1, 3), np.nan, np.float32))


def test_word2vec_binary_reads_back_in_gensim(tmp_path):
    from gensim.models import KeyedVectors

    vectors = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    names = ["song:1", "kw:雪", "image:emoji:1F600", "7"]
    path = tmp_path / "emb.bin"
    write_word2vec_binary(path, names, vectors)
    raw = path.read_bytes()
    assert raw.startswith(b"4 6\n") and raw.endswith(b"\n")
    assert len(raw) == len(b"4 6\n") + sum(len(n.encode()) + 1 + 6 * 4 + 1 for n in names)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    assert kv.index_to_key == names
    np.testing.assert_array_equal(kv.vectors, vectors)
    with pytest.raises(InputError, match="whitespace"):
        write_word2vec_binary(tmp_path / "bad.bin", ["a b"], vectors[:1])
