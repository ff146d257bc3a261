"""Micro-batching in the service: batches form from what waits, each request gets its own answer and its own error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from conftest import THEMES  # noqa: E402
from graphrec.serve.batching import BatcherBusy, MicroBatcher  # noqa: E402
from test_serve import png_bytes, post_image  # noqa: E402


class _Recorder:
    """A featurizer stand-in that records each batch and fails on items equal to "bad"."""

    dim = 2

    def __init__(self) -> None:
        self.batches: list[list[object]] = []

    def compute(self, items):
        self.batches.append(list(items))
        if "bad" in items:
            raise ValueError("item 'bad' cannot be featurised")
        return np.array([[float(i), 1.0] for i in items], dtype=np.float32)


class _Model:
    def recommend_features(self, features, k):
        return [(float(row[0]), k) for row in features]


def test_what_waits_is_one_batch_and_each_gets_its_own_answer_and_k():
    featurizer = _Recorder()
    batcher = MicroBatcher(_Model(), featurizer, max_batch=4, max_wait_s=0.0, start=False)
    futures = [batcher.submit(i, k=1 + i % 2) for i in range(6)]
    batcher.start()
    results = [f.result(timeout=10) for f in futures]
    batcher.stop()
    assert results == [(float(i), 1 + i % 2) for i in range(6)]
    assert [len(b) for b in featurizer.batches] == [4, 2]  # max_batch bounds a batch; the rest is the next one
    assert batcher.stats()["batches"] == 2 and batcher.stats()["largest_batch"] == 4


def test_one_bad_image_fails_alone():
    featurizer = _Recorder()
    batcher = MicroBatcher(_Model(), featurizer, max_batch=8, max_wait_s=0.0, start=False)
    futures = [batcher.submit(item, k=3) for item in (1, "bad", 2)]
    batcher.start()
    assert futures[0].result(timeout=10) == (1.0, 3) and futures[2].result(timeout=10) == (2.0, 3)
    with pytest.raises(ValueError, match="'bad'"):
        futures[1].result(timeout=10)
    batcher.stop()
    assert [len(b) for b in featurizer.batches] == [3, 1, 1, 1]  # the batch, then one by one


def test_a_full_queue_is_refused_at_once():
    batcher = MicroBatcher(_Model(), _Recorder(), max_batch=2, max_queue=2, start=False)
    batcher.submit(1, 1)
    batcher.submit(2, 1)
    with pytest.raises(BatcherBusy):
        batcher.submit(3, 1)
    batcher.start()
    batcher.stop()


def test_concurrent_requests_get_their_own_known_answers(tiny_recommender):
    from graphrec.serve.app import create_app

    app = create_app(tiny_recommender, max_batch=8, batch_wait_ms=20)
    words = list(THEMES) * 4
    with TestClient(app) as client, ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda w: post_image(client, png_bytes(w[1], seed=w[0]), k=3), enumerate(words)))
        health = client.get("/healthz").json()
    for word, response in zip(words, responses):
        assert response.status_code == 200, response.text
        assert all(song["song_id"].startswith(word) for song in response.json()["songs"]), (word, response.json()["songs"])
    assert health["batching"]["images"] == len(words) and health["batching"]["max_batch"] == 8
    assert threading.active_count() < 50


def test_unbatched_mode_gives_the_same_answers(tiny_recommender):
    from graphrec.serve.app import create_app

    with TestClient(create_app(tiny_recommender, max_batch=1)) as single, TestClient(create_app(tiny_recommender)) as batched:
        for word in THEMES:
            a, b = post_image(single, png_bytes(word), k=4).json(), post_image(batched, png_bytes(word), k=4).json()
            assert a["songs"] == b["songs"]
        assert single.get("/healthz").json()["batching"] == {"max_batch": 1}
