"""Keyword vocabulary and song-keyword weights (Hsia et al. 2018, section 3.1).

Pipeline, per song (the title's subject + the lyrics, as cleaned by `graphrec.data.clean` when read;
a title that only names a tune, 浣溪沙 or 张君瑞害相思・络丝娘煞尾, adds nothing: `graphrec.data.tunes`):

0. **Text**: Traditional Chinese is converted to Simplified (``simplify``, `graphrec.text.zh`), in
   which the vocabulary, jieba's dictionary and the sense list are written; the names of works in
   《》 are blanked (a title, not an image: `graphrec.text.senses`).
1. **Segment** with jieba (``HMM=False`` by default: classical Chinese is mostly one-character words,
   and the HMM glues unknown neighbours into fake words such as 气和). Line ends are kept as ``"\n"``
   tokens. Raw tokens are cached on disk.
2. **Informative tokens**: a token is informative when it is not a stopword (`stopwords.py`) and
   either is an imagery word (``resources/imagery.txt``), or is a Chinese word of two or more
   characters whose part of speech in jieba's dictionary is in ``allow_pos`` (nouns, places, times),
   or is an English word of two or more letters. One-character Chinese words count only when they
   are imagery words (``single_chars="imagery"``): classical text is full of one-character function
   words and abstractions that jieba tags as nouns (儿 子 客 世 ...). The part of speech is looked up per word type in jieba's dictionary rather
   than tagged in context with ``jieba.posseg``: in-context tagging of classical text is no better and
   is ~15x slower (134 s for 8,000 ci on one core).
3. **Counting**: a candidate word occurs once for every informative token that is it or contains it
   (明月 counts for 月, 梅花 for 梅 and 花), so the compounds of an imagery word feed it; a token that
   is neither informative nor a stopword (把酒, 下雪: verbs) still counts for the imagery words in it.
   **Senses** (``senses=True``): inside a compound of ``resources/sense_exceptions.tsv`` the
   characters count only for the images it carries (今日 -> none, 金乌 -> 日, 海棠 -> 花).
   ``tf="lines"`` (default) counts a word once per line that holds it, so an image that runs through
   a song outweighs one repeated in a single line; ``tf="count"`` counts every occurrence (the paper).
4. **Vocabulary**: the ``k`` candidates found in the most songs (document frequency; ties: total
   count, then the word), as in the paper; or the given ``vocabulary``.
5. **Weights** (song x keyword, in (0, 1], each song's largest = 1):
   ``tfidf``: tf * (ln((1 + N) / (1 + df)) + 1), with N songs and df over this corpus, tf as above;
   ``count``: tf; ``textrank``: jieba.analyse's TextRank (window 5) over the song's vocabulary words.
   Songs with no vocabulary word are dropped and counted.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from graphrec._env import cache_dir, pool_size
from graphrec._log import get_logger, progress
from graphrec.data.songs import Song, SongCorpus
from graphrec.errors import CorpusError, InputError
from graphrec.text.senses import SenseTable, compounds, scope_of, strip_named_works
from graphrec.text.stopwords import all_stopwords, imagery_words
from graphrec.data.tunes import split_title
from graphrec.text.zh import to_simplified

log = get_logger(__name__)

Method = Literal["tfidf", "textrank", "count"]
METHODS = ("tfidf", "textrank", "count")
TermFrequency = Literal["lines", "count"]
TF_UNITS = ("lines", "count")

# jieba dictionary tags that name things one can picture: nouns, noun morphemes, other proper nouns,
# places, times, space words (a, v, d, r, m, q, nr ... are left out; imagery.txt rescues mis-tagged ones)
DEFAULT_POS = ("n", "ng", "nz", "nl", "ns", "s", "t", "tg")
# sources whose titles are left out whatever they say; tune names are found without it (graphrec.data.tunes)
DEFAULT_TITLE_SKIP: tuple[str, ...] = ()

TOKENIZER_VERSION = 2  # bump when the raw tokenization changes, to invalidate caches (2: line-end tokens, sense compounds)
LINE_END = "\n"  # the token that marks a line end
_LINE_BREAKS = re.compile(r"\s*\n\s*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ENGLISH = re.compile(r"^[a-z][a-z'\-]*[a-z]$")
_POOL_MIN_TEXTS = 1500  # below this a worker pool costs more than it saves
_TEXTRANK_SPAN = 5  # jieba.analyse.TextRank's default window


@dataclass(frozen=True)
class KeywordConfig:
    """How the keyword vocabulary and the song-keyword weights are made (see the module docstring)."""

    method: Method = "tfidf"
    k: int = 72
    vocabulary: tuple[str, ...] | None = None  # a given list instead of selection
    # words made reachable beside the k selected ones (e.g. what photo classes and classifier classes
    # name: 猫, 茶, 杯): each joins the vocabulary when it occurs in at least include_min_df songs
    include: tuple[str, ...] = ()
    include_min_df: int = 10
    allow_pos: tuple[str, ...] = DEFAULT_POS
    min_length: int = 1  # Chinese words; classical imagery is one character
    min_df: int = 2  # a candidate must occur in at least this many songs
    single_chars: Literal["imagery", "pos"] = "imagery"  # which one-character Chinese words count: imagery.txt only, or by tag
    extra_stopwords: tuple[str, ...] = ()
    skip_title_sources: tuple[str, ...] = DEFAULT_TITLE_SKIP
    hmm: bool = False  # jieba's HMM for unknown words: helps modern lyrics, hurts classical text
    tf: TermFrequency = "lines"  # term frequency: lines holding the word (centrality) or every occurrence
    senses: bool = True  # count a character only where it carries its image (resources/sense_exceptions.tsv)
    simplify: bool = True  # convert Traditional Chinese to Simplified before segmenting
    workers: int = 0  # processes for segmentation; 0 = all cores, 1 = none
    cache_dir: str | None = None  # None = $GRAPHREC_CACHE or ~/.cache/graphrec; "" = no cache

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"KeywordConfig.method must be one of {METHODS}, got {self.method!r}.")
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"KeywordConfig.k must be a positive integer, got {self.k!r}.")
        if self.vocabulary is not None:
            if isinstance(self.vocabulary, str) or not all(isinstance(w, str) and w.strip() for w in self.vocabulary):
                raise ValueError(
                    f"KeywordConfig.vocabulary must be a tuple of non-empty words, got {self.vocabulary!r}; "
                    "e.g. vocabulary=('雪', '月', '花')."
                )
            if not self.vocabulary:
                raise ValueError("KeywordConfig.vocabulary is empty; give at least one word or None to select them.")
            object.__setattr__(self, "vocabulary", tuple(self.vocabulary))
        for name in ("allow_pos", "extra_stopwords", "skip_title_sources", "include"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ValueError(f"KeywordConfig.{name} must be a tuple of strings, got the string {value!r}.")
            object.__setattr__(self, name, tuple(value))
        for name in ("min_length", "min_df", "include_min_df"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"KeywordConfig.{name} must be a positive integer, got {value!r}.")
        if self.single_chars not in ("imagery", "pos"):
            raise ValueError(f"KeywordConfig.single_chars must be 'imagery' or 'pos', got {self.single_chars!r}.")
        if self.tf not in TF_UNITS:
            raise ValueError(f"KeywordConfig.tf must be one of {TF_UNITS}, got {self.tf!r}.")
        for name in ("hmm", "senses", "simplify"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"KeywordConfig.{name} must be True or False, got {getattr(self, name)!r}.")
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 0:
            raise ValueError(f"KeywordConfig.workers must be 0 (all cores) or a positive integer, got {self.workers!r}.")


def _normal(word: str) -> str:
    """Chinese words as written, others lower-cased (as tokens are), both stripped."""
    return word.strip() if _CJK.search(word) else word.strip().lower()


@dataclass
class KeywordResult:
    """The vocabulary (column order) and the kept songs' keyword weights (row order)."""

    vocabulary: list[str]
    song_ids: list[str]
    weights: sp.csr_matrix  # float32 (n_kept_songs x K), values in (0, 1], each row's max = 1
    dropped_song_ids: list[str]
    stats: dict[str, object] = field(default_factory=dict)
    # float32, same shape and entries as ``weights``: the raw term frequency (lines holding the word, or
    # occurrences, per KeywordConfig.tf), i.e. how much of the song the word fills, not normalised
    counts: sp.csr_matrix | None = None

    def keywords_of(self, song_id: str, top: int | None = None) -> list[tuple[str, float]]:
        """(keyword, weight) of one kept song, strongest first."""
        try:
            row = self.song_ids.index(song_id)
        except ValueError:
            raise KeyError(f"song {song_id!r} is not among the {len(self.song_ids)} kept songs") from None
        start, end = self.weights.indptr[row], self.weights.indptr[row + 1]
        pairs = sorted(
            ((self.vocabulary[j], float(w)) for j, w in zip(self.weights.indices[start:end], self.weights.data[start:end])),
            key=lambda p: (-p[1], p[0]),
        )
        return pairs[:top] if top is not None else pairs


# ---------------------------------------------------------------------------------------------- tokenizer


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """A private jieba.Tokenizer (the global one is left alone) with the missing imagery words and
    sense compounds added (so that 半星儿, 金乌 come out whole)."""
    import jieba

    jieba.setLogLevel(60)  # jieba prints "Building prefix dict..." through its own logger
    tok = jieba.Tokenizer()
    tok.initialize()
    for word in sorted(w for w in imagery_words() if w not in tok.FREQ or not tok.FREQ[w]):
        tok.add_word(word, tag=imagery_words()[word])
    for word in compounds():
        tok.suggest_freq(word, tune=True)  # frequent enough to beat its split: 人海, not 人 + 海
    return tok


@lru_cache(maxsize=1)
def _tag_table() -> dict[str, str]:
    """word -> jieba dictionary part of speech, with imagery.txt's tags on top."""
    from jieba.posseg import dt as pos_dt  # loads the word-tag table from jieba's dict.txt once

    _tokenizer()
    table = dict(pos_dt.word_tag_tab)
    table.update(imagery_words())
    for word in compounds():  # 半星儿, 正末云: added for their senses, not to be keywords themselves
        table.setdefault(word, "x")
    return table


def _tokenizer_key(hmm: bool) -> str:
    import jieba

    added = ",".join(sorted(imagery_words())) + "|" + ",".join(compounds())
    spec = f"{TOKENIZER_VERSION}|jieba={jieba.__version__}|hmm={hmm}|added={added}"
    return hashlib.sha1(spec.encode("utf-8")).hexdigest()[:16]


def raw_tokens(text: str, hmm: bool = False) -> list[str]:
    """jieba's segmentation of ``text`` without whitespace tokens, English lower-cased; each line end
    (runs of them too) is one `LINE_END` token, none at the edges."""
    text = _LINE_BREAKS.sub(LINE_END, text.strip())  # one "\n" between lines, never next to other space
    return [t.strip().lower() or LINE_END for t in _tokenizer().cut(text, HMM=hmm) if t == LINE_END or t.strip()]


def _tokenize_chunk(args: tuple[list[str], bool]) -> list[list[str]]:
    texts, hmm = args
    return [raw_tokens(t, hmm) for t in texts]


class _Filter:
    """Decides, per word type and memoised, whether a token is informative and which candidates it holds."""

    def __init__(self, config: KeywordConfig, force: Iterable[str] = (), senses: SenseTable | None = None) -> None:
        # ``force``: a given vocabulary, counted wherever it occurs even if the filter would drop it
        # ``senses``: compounds whose characters count only for the images they carry
        self.force = frozenset(force)
        self.senses = senses
        self.stop = all_stopwords(config.extra_stopwords) - self.force
        self.imagery = imagery_words()
        self.tags = _tag_table()
        self.allow = frozenset(config.allow_pos)
        self.min_length = config.min_length
        self.strict_single = config.single_chars == "imagery"
        self._informative: dict[str, bool] = {}
        self._parts: dict[str, tuple[str, ...]] = {}

    def informative(self, token: str) -> bool:
        hit = self._informative.get(token)
        if hit is None:
            hit = self._judge(token)
            self._informative[token] = hit
        return hit

    def _judge(self, token: str) -> bool:
        if token in self.stop:
            return False
        if token in self.imagery or token in self.force:
            return True
        if _CJK.search(token):
            if len(token) < self.min_length or "□" in token:
                return False
            if len(token) == 1 and self.strict_single:
                # classical single characters are mostly function words or abstractions whatever their
                # dictionary tag (儿 子 清 空 流 客 ...): only the imagery list lets one through
                return False
            tag = self.tags.get(token)
            # no tag: a word jieba's HMM made up; keep multi-character ones, single characters are noise
            return tag in self.allow if tag is not None else len(token) >= 2
        return bool(_ENGLISH.match(token))

    def parts(self, token: str) -> tuple[str, ...]:
        """The informative words inside an informative token, itself included (明月 -> 明月, 月).

        Inside a token that is not informative but not a stopword either (把酒, 下雪: verbs) only the
        imagery words (and a given vocabulary's words) are found: 把酒 -> 酒. Stopwords yield nothing.
        A sense compound yields only the images it carries (今日 -> nothing but itself, 金乌 -> 金乌, 日).
        """
        got = self._parts.get(token)
        if got is None:
            whole = self.informative(token)
            if len(token) == 1 or not _CJK.search(token):
                got = (token,) if whole else ()
            else:
                n = len(token)
                subs = {token[i:j] for i in range(n) for j in range(i + 1, n + 1)}
                # a sense compound counts only for the images it carries (今日: none; 金乌: 日), not its characters
                spans = self.senses.spans(token) if self.senses is not None else []
                carried = {w for _, _, sense in spans for w in sense.carries}
                if spans:
                    subs = {token[i:j] for i in range(n) for j in range(i + 1, n + 1) if not _inside_sense(i, j, spans)}
                if whole:
                    got = tuple(sorted({w for w in subs if w == token or self.informative(w)} | carried))
                elif token in self.stop:
                    got = tuple(sorted(w for w in subs if w in self.force))
                else:
                    got = tuple(sorted({w for w in subs if w in self.force or (w in self.imagery and w not in self.stop)} | carried))
            self._parts[token] = got
        return got

    def counts(self, tokens: Sequence[str], unit: TermFrequency = "count") -> Counter[str]:
        """How often each word occurs: every occurrence, or (``"lines"``) once per line that holds it."""
        known = self._parts
        try:
            found = list(map(known.__getitem__, tokens))  # LINE_END finds nothing: it is not informative
        except KeyError:  # word types not judged yet
            for token in set(tokens).difference(known):
                self.parts(token)
            found = list(map(known.__getitem__, tokens))
        if unit == "count":
            return Counter(chain.from_iterable(found))
        counter: Counter[str] = Counter()
        start, n = 0, len(tokens)
        while start <= n:
            try:
                end = tokens.index(LINE_END, start)
            except ValueError:
                end = n
            counter.update(set(chain.from_iterable(found[start:end])))
            start = end + 1
        return counter


_FILTERS: dict[tuple[Any, ...], _Filter] = {}


def _filter_for(config: KeywordConfig, force: Sequence[str], scope: str) -> _Filter:
    """A `_Filter` (and the word judgements it has memoised) shared by calls with the same rules."""
    key = (config.extra_stopwords, config.allow_pos, config.min_length, config.single_chars, config.senses, tuple(force), scope)
    filt = _FILTERS.get(key)
    if filt is None:
        if len(_FILTERS) >= 8:
            _FILTERS.clear()
        filt = _FILTERS[key] = _Filter(config, force=force, senses=SenseTable(scope) if config.senses else None)  # type: ignore[arg-type]
    return filt


def _inside_sense(i: int, j: int, spans: list[tuple[int, int, Any]]) -> bool:
    """Whether token[i:j] reaches into a sense compound without being all of it: 今日 in 今日里 is a
    word, its 日 is not the sun."""
    return any(i < end and start < j and (i, j) != (start, end) for start, end, _ in spans)


def tokenize(text: str, config: KeywordConfig | None = None) -> list[str]:
    """One text's informative tokens, in order (the same rules as `extract_keywords`, before compounds are split)."""
    config = config or KeywordConfig()
    filt = _Filter(config)
    return [t for t in raw_tokens(_prepare(text, config), config.hmm) if filt.informative(t)]


def keyword_counts(text: str, config: KeywordConfig | None = None, *, source: str = "") -> Counter[str]:
    """The candidate words one text holds, counted per ``config.tf``, by the rules of `extract_keywords`
    (compounds, senses, stopwords; a given ``config.vocabulary`` counts wherever it occurs). ``source``
    chooses the sense list: ``"songci"``, ``"yuanqu"``, ``"shijing"`` are classical, anything else modern."""
    config = config or KeywordConfig()
    filt = _filter_for(config, config.vocabulary or (), scope_of(source))
    return filt.counts(raw_tokens(_prepare(text, config), config.hmm), config.tf)


# ---------------------------------------------------------------------------------------------- cache


class _TokenCache:
    """Raw tokens per text in SQLite, keyed by sha1(tokenizer key + text). A broken cache is skipped, never fatal."""

    def __init__(self, directory: Path | None, hmm: bool) -> None:
        self.prefix = _tokenizer_key(hmm)
        self.db: sqlite3.Connection | None = None
        if directory is None:
            return
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.path = directory / "tokens-v1.sqlite"
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("CREATE TABLE IF NOT EXISTS tokens (key TEXT PRIMARY KEY, toks TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            log.warning("token cache in %s unusable (%s); segmenting without it", directory, exc)
            self.db = None

    def key(self, text: str) -> str:
        return hashlib.sha1(f"{self.prefix}\n{text}".encode("utf-8")).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, list[str]]:
        if self.db is None:
            return {}
        found: dict[str, list[str]] = {}
        try:
            for start in range(0, len(keys), 900):  # SQLite's host-parameter limit
                batch = keys[start : start + 900]
                marks = ",".join("?" * len(batch))
                for k, toks in self.db.execute(f"SELECT key, toks FROM tokens WHERE key IN ({marks})", batch):
                    found[k] = toks.split("\t") if toks else []
        except sqlite3.Error as exc:
            log.warning("token cache read failed (%s); segmenting without it", exc)
            return {}
        return found

    def put_many(self, items: list[tuple[str, list[str]]]) -> None:
        if self.db is None or not items:
            return
        try:
            with self.db:
                self.db.executemany(
                    "INSERT OR REPLACE INTO tokens (key, toks) VALUES (?, ?)",
                    [(k, "\t".join(t.replace("\t", " ") for t in toks)) for k, toks in items],
                )
        except sqlite3.Error as exc:
            log.warning("token cache write failed (%s); results are still correct", exc)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def _resolve_cache_dir(config: KeywordConfig) -> Path | None:
    if config.cache_dir == "":
        return None
    return Path(config.cache_dir).expanduser() if config.cache_dir else cache_dir()


def segment_texts(texts: Sequence[str], config: KeywordConfig, *, show_progress: bool | None = None) -> tuple[list[list[str]], dict[str, Any]]:
    """Raw tokens of every text, from the cache where possible, the rest across ``workers`` processes."""
    started = time.perf_counter()
    cache = _TokenCache(_resolve_cache_dir(config), config.hmm)
    keys = [cache.key(t) for t in texts]
    cached = cache.get_many(list(dict.fromkeys(keys)))
    todo = list(dict.fromkeys(k for k in keys if k not in cached))
    text_of = dict(zip(keys, texts))
    fresh: dict[str, list[str]] = {}
    workers = pool_size(config.workers, items=len(todo), min_items=_POOL_MIN_TEXTS)
    if todo:
        _tokenizer()  # initialise before forking so that workers inherit the dictionary
        todo_texts = [text_of[k] for k in todo]
        if workers > 1:
            n_chunks = workers * 8
            size = math.ceil(len(todo_texts) / n_chunks)
            chunks = [(todo_texts[i : i + size], config.hmm) for i in range(0, len(todo_texts), size)]
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            with mp.get_context(method).Pool(workers) as pool:
                results: list[list[list[str]]] = list(
                    progress(pool.imap(_tokenize_chunk, chunks), show_progress=show_progress, total=len(chunks), desc="jieba")
                )
            token_lists = [toks for chunk in results for toks in chunk]
        else:
            token_lists = [raw_tokens(t, config.hmm) for t in progress(todo_texts, show_progress=show_progress, desc="jieba")]
        fresh = dict(zip(todo, token_lists))
        cache.put_many(list(fresh.items()))
    cache.close()
    tokens = [cached[k] if k in cached else fresh[k] for k in keys]
    stats = {
        "texts": len(texts),
        "cache_hits": len(texts) - sum(1 for k in keys if k in fresh),
        "segmented": len(todo),
        "workers": workers if todo else 0,
        "cache": str(getattr(cache, "path", "")) or None,
        "segment_s": round(time.perf_counter() - started, 3),
    }
    return tokens, stats


# ---------------------------------------------------------------------------------------------- extraction


def _prepare(text: str, config: KeywordConfig) -> str:
    if config.senses:
        text = strip_named_works(text)
    return to_simplified(text) if config.simplify else text


def song_text(song: Song, config: KeywordConfig) -> str:
    """The text keywords are taken from: what the title says about the song (not its tune, mode or
    play: `graphrec.data.tunes.split_title`) and the lyrics, prepared as the config says."""
    subject = ""
    if song.title and song.source not in config.skip_title_sources:
        subject = split_title(song.title, source=song.source, tune=song.tune).subject
    return _prepare(f"{subject}\n{song.lyrics}" if subject else song.lyrics, config)


def select_vocabulary(counts: Sequence[Counter[str]], k: int, min_df: int = 1) -> tuple[list[str], dict[str, int]]:
    """The ``k`` words found in the most songs (ties: more occurrences, then the word itself)."""
    df: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
        total.update(c)
    ranked = sorted((w for w in df if df[w] >= min_df), key=lambda w: (-df[w], -total[w], w))
    return ranked[:k], {w: df[w] for w in ranked[:k]}


def _textrank_row(tokens: list[str], filt: _Filter, column: dict[str, int]) -> dict[int, float]:
    """TextRank scores of the vocabulary words in one song (jieba.analyse's graph and ranking)."""
    from jieba.analyse.textrank import UndirectWeightedGraph

    words = [[p for p in filt.parts(t) if p in column] for t in tokens if t != LINE_END]
    pairs: Counter[tuple[str, str]] = Counter()
    for i, here in enumerate(words):
        for a in here:
            for j in range(i + 1, min(i + _TEXTRANK_SPAN, len(words))):
                for b in words[j]:
                    if a != b:
                        pairs[(a, b)] += 1
    present = {w for ws in words for w in ws}
    if not pairs:
        return {column[w]: 1.0 for w in present}
    graph = UndirectWeightedGraph()
    for (a, b), n in sorted(pairs.items()):
        graph.addEdge(a, b, n)
    ranks = graph.rank()
    scores = {column[w]: float(ranks.get(w, 0.0)) for w in present}
    floor = min((s for s in scores.values() if s > 0), default=1.0)
    return {j: max(s, floor) for j, s in scores.items()}  # a word with no neighbour still counts


def extract_keywords(corpus: SongCorpus | Sequence[Song], config: KeywordConfig | None = None, *, show_progress: bool | None = None) -> KeywordResult:
    """Choose the vocabulary and weigh every song's keywords; songs without any are dropped and counted."""
    config = config or KeywordConfig()
    songs = list(corpus)
    if not songs:
        raise CorpusError("the song corpus is empty; give at least one song with lyrics.")
    started = time.perf_counter()
    tokens, seg_stats = segment_texts([song_text(s, config) for s in songs], config, show_progress=show_progress)
    given = None
    if config.vocabulary is not None:
        given = list(dict.fromkeys(w.strip() if _CJK.search(w) else w.strip().lower() for w in config.vocabulary))
    include = [] if given is not None else list(dict.fromkeys(_normal(w) for w in config.include if w.strip()))
    song_filters = [_filter_for(config, given or include, scope_of(s.source)) for s in songs]
    counts = [f.counts(t, config.tf) for f, t in zip(song_filters, tokens)]
    included: list[str] = []
    include_df: Counter[str] = Counter()

    if given is not None:
        vocabulary = given
        source = "given"
        df = Counter(w for c in counts for w in vocabulary if c.get(w))
        # a given word jieba never produces as a token is still found inside compounds; warn about the rest
        missing = [w for w in vocabulary if not df[w]]
        if missing:
            log.warning("%d given vocabulary words occur in no song: %s", len(missing), "、".join(missing[:20]))
    else:
        candidates = counts
        if include:
            # the k words are chosen as if nothing were included (an included word counts only by its rule below)
            plain, forced = _filter_for(config, (), "modern"), frozenset(include)
            candidates = [Counter({w: n for w, n in c.items() if w not in forced or plain.informative(w)}) for c in counts]
        vocabulary, df_sel = select_vocabulary(candidates, config.k, config.min_df)
        df = Counter(df_sel)
        source = "selected"
        if include:
            include_df.update(w for c in counts for w in include if c.get(w))
            for word in sorted(include, key=lambda w: (-include_df[w], w)):
                if word not in df and include_df[word] >= config.include_min_df:
                    vocabulary.append(word)
                    df[word] = include_df[word]
                    included.append(word)
            log.info("vocabulary: %d selected + %d of %d included words found in >= %d songs",
                     len(vocabulary) - len(included), len(included), len(include), config.include_min_df)
        if not vocabulary:
            raise InputError(
                f"no informative keyword occurs in {config.min_df} or more of the {len(songs)} songs; "
                "lower KeywordConfig.min_df, give more songs, or pass KeywordConfig(vocabulary=...)."
            )
        if len(vocabulary) < config.k:
            log.warning("only %d informative keywords found (k=%d asked)", len(vocabulary), config.k)
    column = {w: j for j, w in enumerate(vocabulary)}
    n_songs = len(songs)
    idf = np.array([math.log((1 + n_songs) / (1 + df[w])) + 1.0 for w in vocabulary])

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    raw: list[float] = []
    kept: list[str] = []
    dropped: list[str] = []
    for song, toks, c, filt in zip(songs, tokens, counts, song_filters):
        if config.method == "textrank":
            scores = _textrank_row(toks, filt, column)
        else:
            scores = {column[w]: float(n) for w, n in c.items() if w in column}
            if config.method == "tfidf":
                scores = {j: s * idf[j] for j, s in scores.items()}
        if not scores:
            dropped.append(song.id)
            continue
        top = max(scores.values())
        row = len(kept)
        kept.append(song.id)
        tf = {column[w]: float(n) for w, n in c.items() if w in column}
        for j in sorted(scores):
            rows.append(row)
            cols.append(j)
            vals.append(scores[j] / top)
            raw.append(tf.get(j, 1.0))
    coords = (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))
    weights = sp.csr_matrix((np.asarray(vals, dtype=np.float32), coords), shape=(len(kept), len(vocabulary)), dtype=np.float32)
    weights.sort_indices()
    term_counts = sp.csr_matrix((np.asarray(raw, dtype=np.float32), coords), shape=(len(kept), len(vocabulary)), dtype=np.float32)
    term_counts.sort_indices()
    if not kept:
        raise InputError(
            f"none of the {n_songs} songs contains a vocabulary keyword ({'、'.join(vocabulary[:10])}); "
            "give a vocabulary that occurs in the lyrics or more songs."
        )
    stats: dict[str, object] = {
        "method": config.method,
        "tf": config.tf,
        "senses": config.senses,
        "vocabulary_source": source,
        "included": included,
        # songs holding each word asked to be included (those below include_min_df stayed out)
        "include_document_frequency": {w: int(include_df[w]) for w in include} if include else {},
        "include_min_df": config.include_min_df,
        "k": len(vocabulary),
        "songs_in": n_songs,
        "songs_kept": len(kept),
        "songs_dropped": len(dropped),
        "document_frequency": {w: int(df[w]) for w in vocabulary},
        "edges": int(weights.nnz),
        "tokens": int(sum(len(t) - t.count(LINE_END) for t in tokens)),
        "segmentation": seg_stats,
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info(
        "keywords (%s, %s): %d words, %d songs kept, %d dropped, %.1fs (%d segmented, %d from cache)",
        config.method, source, len(vocabulary), len(kept), len(dropped), stats["seconds"],
        seg_stats["segmented"], seg_stats["cache_hits"],
    )
    return KeywordResult(vocabulary=vocabulary, song_ids=kept, weights=weights, dropped_song_ids=dropped, stats=stats, counts=term_counts)
