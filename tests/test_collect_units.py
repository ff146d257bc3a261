"""Small pieces of collect-images with known answers: translation, licences, HTML, Retry-After, logs."""

from __future__ import annotations

import logging
from email.utils import formatdate

import pytest

from graphrec.collect.download import accept_content_type, is_image_mime
from graphrec.collect.http import parse_retry_after, user_agent
from graphrec.collect.manifest import JOURNAL_COLUMNS, AppendLog, merge_finds, read_log
from graphrec.collect.collector import rank_weight
from graphrec.collect.sources import openverse_licence, strip_html
from graphrec.collect.translate import default_table, parse_langs, queries_for, translate
from graphrec.errors import InputError


def test_shipped_table_covers_the_classical_imagery_words():
    table = default_table()
    assert len(table) >= 150
    for zh, en in {"雪": "snow", "月": "moon", "梅": "plum blossom", "雁": "wild goose", "琴": "zither", "泪": "tears"}.items():
        assert table[zh] == en
    assert all(isinstance(v, str) and v and v.isascii() for v in table.values())


def test_translate_whole_words_then_longest_pieces():
    assert translate("雪") == "snow"
    assert translate("明月") == "bright moon"  # a whole entry beats 明 + 月
    assert translate("明月楼") == "bright moon tower"  # longest match first
    assert translate("雪雪") == "snow"  # a gloss is not repeated
    assert translate("犇") is None
    assert translate("abc", {"a": "x"}) == "x"  # pieces that are unknown are skipped


def test_queries_keep_order_and_fall_back_to_the_keyword(caplog):
    assert queries_for("雪", ["zh", "en"]) == ["雪", "snow"]
    assert queries_for("雪", ["en", "zh"]) == ["snow", "雪"]
    assert queries_for("snow", ["zh", "en"]) == ["snow"]  # English is its own translation
    with caplog.at_level(logging.WARNING, logger="graphrec"):
        assert queries_for("犇", ["en"]) == ["犇"]
    assert "no English" in caplog.text
    assert parse_langs("zh, en") == ("zh", "en")
    with pytest.raises(InputError, match="--lang"):
        parse_langs("zh,fr")


def test_licences_and_authors_are_plain_text():
    assert openverse_licence("by-sa", "2.0") == "CC BY-SA 2.0"
    assert openverse_licence("cc0", "1.0") == "CC0 1.0"
    assert openverse_licence("pdm", "") == "Public Domain Mark 1.0"
    assert strip_html('<a href="//commons.wikimedia.org/wiki/User:X">Xu &amp; <b>Li</b></a>\n (own work)') == "Xu & Li (own work)"


def test_retry_after_seconds_or_http_date():
    assert parse_retry_after("120", now=0) == 120
    assert parse_retry_after(formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30)
    assert parse_retry_after(formatdate(10, usegmt=True), now=1_000_000) == 0  # in the past: go now
    assert parse_retry_after("soon", now=0) is None


def test_user_agent_without_contact_says_how_to_add_one():
    assert "--contact" in user_agent(None)
    assert "me@example.org" in user_agent("me@example.org")


def test_content_type_and_mime_checks():
    assert accept_content_type("image/jpeg") and accept_content_type("application/octet-stream") and accept_content_type("")
    assert not accept_content_type("text/html") and not accept_content_type("image/svg+xml")
    assert is_image_mime("image/tiff") and is_image_mime("") and not is_image_mime("application/pdf")


def test_rank_weight_is_in_unit_interval_and_decreasing():
    weights = [rank_weight(r, 10) for r in range(100)]
    assert weights[0] == 1.0 and weights[10] == 0.5
    assert all(0 < b < a <= 1 for a, b in zip(weights, weights[1:]))


def test_append_log_survives_a_torn_header_and_rejects_foreign_files(tmp_path):
    path = tmp_path / "journal.csv"
    path.write_bytes(b"path,keywo")  # killed while writing the header
    contents = read_log(path, JOURNAL_COLUMNS)
    assert contents.rows == [] and contents.dropped == ["path,keywo"] and path.read_bytes() == b""
    with AppendLog(path, JOURNAL_COLUMNS) as log:
        log.append({"path": "a.jpg", "keywords": "雪", "weight": "1", "author": "two\nlines"})
    rows = read_log(path, JOURNAL_COLUMNS).rows
    assert rows[0]["keywords"] == "雪" and rows[0]["author"] == "two lines"  # one row stays one line
    other = tmp_path / "other.csv"
    other.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a collect-images log"):
        read_log(other, JOURNAL_COLUMNS)


def test_merge_finds_one_row_per_file_weights_in_keyword_order():
    finds = [
        {"path": "a.jpg", "keywords": "雪", "weight": "1", "query": "snow", "source_url": "u1"},
        {"path": "b.jpg", "keywords": "雪", "weight": "0.5", "query": "snow", "source_url": "u2"},
        {"path": "a.jpg", "keywords": "月", "weight": "0.75", "query": "moon", "source_url": "u3"},
    ]
    merged = merge_finds(finds)
    assert [(m["path"], m["keywords"], m["weight"], m["queries"], m["source_url"]) for m in merged] == [
        ("a.jpg", "雪|月", "1|0.75", "snow|moon", "u1"),
        ("b.jpg", "雪", "0.5", "snow", "u2"),
    ]


def test_one_retry_policy_for_every_http_client():
    from graphrec._http import retry_wait

    assert [retry_wait(a, backoff=0.5, cap=60) for a in range(3)] == [0.5, 1.0, 2.0]
    assert retry_wait(0, backoff=0.5, retry_after=2.0, cap=60) == 2.0  # the server asks for longer: wait longer
    assert retry_wait(2, backoff=0.5, retry_after=0.0, cap=60) == 2.0  # "0" never shortens the back-off
    assert retry_wait(0, backoff=0.5, retry_after=500.0, cap=60) == 60  # capped
