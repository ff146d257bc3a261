"""Song corpora: user CSV/JSONL files and the classical Chinese corpus (chinese-poetry layout).

Every reader returns a `SongCorpus` whose songs have stable, unique ids (titles repeat: many ci share
one tune name), and raises `CorpusError` naming the file, the line and the fix when the input cannot
be used.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
import math
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from graphrec._log import get_logger
from graphrec.errors import CorpusError, describe_path
from graphrec.data import clean as _clean

log = get_logger(__name__)

PathLike = str | os.PathLike[str]

CLASSICAL_PARTS = ("songci", "yuanqu", "shijing")

# Header names accepted for each field (compared case- and space-insensitively), so that common exports
# such as Spotify/Musixmatch dumps ("Track Name", "Artist Name", "Lyrics") load without editing.
_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "song_id", "songid", "track_id"),
    "title": ("title", "track name", "track_name", "song", "song name", "name", "歌名", "标题", "標題"),
    "artist": ("artist", "artist name", "artist_name", "singer", "author", "歌手", "作者"),
    "lyrics": ("lyrics", "lyric", "text", "歌词", "歌詞"),
    "popularity": ("popularity", "pop", "plays", "热度", "熱度"),
    "tune": ("tune", "tune name", "词牌", "詞牌", "曲牌"),
}
_REQUIRED = ("title", "lyrics")



@dataclass(frozen=True)
class Song:
    """One song. ``lyrics`` keeps the lines, joined with ``"\\n"``. ``tune``: the tune (词牌, 曲牌) the
    lyrics are set to when there is one; a title that only names it says nothing about the song."""

    id: str
    title: str
    artist: str
    lyrics: str
    popularity: float | None = None
    source: str = ""
    tune: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "title": self.title,
            "artist": self.artist,
            "lyrics": self.lyrics,
            "popularity": self.popularity,
            "source": self.source,
        }
        if self.tune:  # files written before tunes were kept stay byte-identical
            out["tune"] = self.tune
        return out


@dataclass
class SongCorpus(Sequence[Song]):
    """An ordered collection of songs with unique ids, plus where they came from."""

    songs: list[Song]
    provenance: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id: dict[str, int] = {}
        for i, song in enumerate(self.songs):
            if song.id in self._by_id:
                raise CorpusError(
                    f"song id {song.id!r} is used twice (songs #{self._by_id[song.id]} and #{i}); "
                    "give every song a unique id."
                )
            self._by_id[song.id] = i

    def __len__(self) -> int:
        return len(self.songs)

    @overload
    def __getitem__(self, index: int) -> Song: ...
    @overload
    def __getitem__(self, index: slice) -> list[Song]: ...
    def __getitem__(self, index: int | slice) -> Song | list[Song]:
        return self.songs[index]

    def __iter__(self) -> Iterator[Song]:
        return iter(self.songs)

    def by_id(self, song_id: str) -> Song:
        try:
            return self.songs[self._by_id[song_id]]
        except KeyError:
            raise KeyError(f"no song with id {song_id!r} in this corpus of {len(self.songs)} songs") from None

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.songs]


# ---------------------------------------------------------------------------------------------- helpers


def _open_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in .gz or .xz."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CorpusError(f"song file {describe_path(path)} does not exist; check the path.") from None
    except IsADirectoryError:
        raise CorpusError(
            f"{describe_path(path)} is a folder; give a .csv/.jsonl file, or a chinese-poetry folder to read_classical()."
        ) from None
    name = path.name.lower()
    try:
        if name.endswith(".gz"):
            return gzip.decompress(raw)
        if name.endswith(".xz"):
            return lzma.decompress(raw)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise CorpusError(
            f"song file {describe_path(path)} is not a valid {name.rsplit('.', 1)[-1]} archive ({exc}); "
            "re-compress it or give the plain file."
        ) from None
    return raw


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 text (a BOM is allowed); any other encoding is an error that names the line and the fix."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) >= 4 and data[1:4:2] == b"\x00\x00"):
        raise CorpusError(
            f"song file {describe_path(path)} is UTF-16 (line 1), expected UTF-8; "
            "re-save it as UTF-8 (e.g. `iconv -f UTF-16 -t UTF-8 in.csv > out.csv`)."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        guess = ""
        try:
            data.decode("gb18030")
            guess = " It decodes as GBK/GB18030"
            hint = "`iconv -f GB18030 -t UTF-8 in.csv > out.csv`"
        except UnicodeDecodeError:
            try:
                data.decode("big5")
                guess = " It decodes as Big5"
                hint = "`iconv -f BIG5 -t UTF-8 in.csv > out.csv`"
            except UnicodeDecodeError:
                hint = "your editor's 'save as UTF-8'"
        raise CorpusError(
            f"song file {describe_path(path)} line {line}: byte {data[exc.start:exc.start + 1]!r} is not UTF-8, "
            f"expected UTF-8 text.{guess}; re-save the file as UTF-8 ({hint})."
        ) from None


def clean_lyrics(text: str, *, source: str | None = None) -> str:
    """The cleaned lyrics only; `graphrec.data.clean.clean_lyrics` also says what each rule removed."""
    return _clean.clean_lyrics(text, source=source).text


class _Cleaner:
    """Cleans each song as a reader makes it (or passes it through when ``clean=False``) and keeps the tally."""

    def __init__(self, clean: bool) -> None:
        self.clean = clean
        self.tally = _clean.CleaningTally()

    def song(self, title: str, lyrics: str, source: str, tune: str | None) -> tuple[str, str, str | None]:
        """(lyrics, tune, why it is empty or None)."""
        if not self.clean:
            return lyrics.strip("\n"), (tune or "").strip(), None if lyrics.strip() else "empty lyrics"
        done = _clean.clean_song(title, lyrics, source=source, tune=tune)
        self.tally.add(lyrics, done.result)
        if done.opening_moved:
            self.tally.extra["opening_from_title"] += 1
        why = None
        if done.result.empty:
            why = "empty lyrics" if not lyrics.strip() or "no_lyrics" in done.result.removed else "empty after cleaning"
        return done.lyrics, done.tune, why

    def provenance(self) -> dict[str, object]:
        return self.tally.to_dict() if self.clean else {"applied": False}


def _popularity(value: Any, path: Path, line: int) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CorpusError(
            f"song file {describe_path(path)} line {line}: popularity {value!r} is not a number; "
            "give a number or leave it empty."
        ) from None
    if not math.isfinite(number):
        raise CorpusError(
            f"song file {describe_path(path)} line {line}: popularity {value!r} is not finite; give a finite number or leave it empty."
        )
    return number


def _source_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".xz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


class _Builder:
    """Collects rows into songs, checking ids and counting skipped rows."""

    def __init__(self, path: Path, clean: bool) -> None:
        self.path = path
        self.cleaner = _Cleaner(clean)
        self.songs: list[Song] = []
        self.seen: dict[str, int] = {}
        self.skipped: Counter[str] = Counter()
        self.skipped_lines: list[int] = []
        self.stem = _source_name(path).rsplit(".", 1)[0]

    def add(self, row: dict[str, Any], line: int, index: int) -> None:
        title = str(row.get("title") or "").strip()
        source = str(row.get("source") or "").strip() or _source_name(self.path)
        given_tune = str(row.get("tune") or "") if "tune" in row else None  # a tune column, even empty, is the answer
        lyrics, tune, empty = self.cleaner.song(title, str(row.get("lyrics") or ""), source, given_tune)
        if empty:
            self.skipped[empty] += 1
            if len(self.skipped_lines) < 20:
                self.skipped_lines.append(line)
            return
        song_id = str(row.get("id") or "").strip() or f"{self.stem}:{index:05d}"
        if song_id in self.seen:
            raise CorpusError(
                f"song file {describe_path(self.path)} line {line}: id {song_id!r} was already used on line "
                f"{self.seen[song_id]}; give every song a unique id (or leave the id column empty to number them)."
            )
        self.seen[song_id] = line
        self.songs.append(
            Song(
                id=song_id,
                title=title,
                artist=str(row.get("artist") or "").strip(),
                lyrics=lyrics,
                popularity=_popularity(row.get("popularity"), self.path, line),
                source=source,
                tune=tune,
            )
        )

    def corpus(self, kind: str) -> SongCorpus:
        if not self.songs:
            why = f" ({dict(self.skipped)} rows skipped)" if self.skipped else ""
            raise CorpusError(
                f"song file {describe_path(self.path)} has no songs with lyrics{why}; "
                "give at least one row with a non-empty lyrics field."
            )
        if self.skipped:
            log.warning(
                "%s: skipped %d rows (%s), e.g. lines %s",
                self.path, sum(self.skipped.values()), dict(self.skipped), self.skipped_lines[:5],
            )
        return SongCorpus(
            songs=self.songs,
            provenance={
                "path": str(self.path),
                "format": kind,
                "songs": len(self.songs),
                "skipped": dict(self.skipped),
                "skipped_lines": list(self.skipped_lines),
                "cleaning": self.cleaner.provenance(),
            },
        )


# ---------------------------------------------------------------------------------------------- readers


def read_songs_csv(path: PathLike, *, clean: bool = True) -> SongCorpus:
    """Read a CSV (optionally .gz/.xz) with a header naming title and lyrics (id, artist, popularity, tune optional).

    Missing ids become ``<file stem>:<row number>``; rows with empty lyrics (or none left after
    cleaning, `graphrec.data.clean`) are skipped and counted; ``clean=False`` keeps the text as it is.
    """
    path = Path(path)
    text = _decode(_open_bytes(path), path)
    if not text.strip():
        raise CorpusError(f"song file {describe_path(path)} is empty; give a CSV with a header line id,title,artist,lyrics.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CorpusError(f"song file {describe_path(path)} line 1: cannot parse the CSV header ({exc}).") from None
    columns = _map_columns(header, path)
    builder = _Builder(path, clean)
    index = 0
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                raise CorpusError(
                    f"song file {describe_path(path)} line {line}: {len(record)} fields but the header has "
                    f"{len(header)}; quote fields that contain commas or newlines with double quotes."
                )
            row = {name: record[i] if i < len(record) else "" for name, i in columns.items()}
            builder.add(row, line, index)
            index += 1
    except csv.Error as exc:
        raise CorpusError(
            f"song file {describe_path(path)} line {reader.line_num}: malformed CSV ({exc}); "
            "check the quoting on that line."
        ) from None
    return builder.corpus("csv")


def _map_columns(header: list[str], path: Path) -> dict[str, int]:
    normalised = [re.sub(r"\s+", " ", h.strip().lower()) for h in header]
    columns: dict[str, int] = {}
    for name, aliases in _COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normalised:
                columns[name] = normalised.index(alias)
                break
    missing = [name for name in _REQUIRED if name not in columns]
    if missing:
        raise CorpusError(
            f"song file {describe_path(path)} line 1: missing column(s) {missing}; found {header}. "
            "Expected a header with id,title,artist,lyrics[,popularity][,tune] (id, artist, popularity and tune may be left out)."
        )
    return columns


def read_songs_jsonl(path: PathLike, *, clean: bool = True) -> SongCorpus:
    """Read JSON Lines (optionally .gz/.xz): one object per line with title and lyrics (id, artist, popularity, source, tune optional).

    ``lyrics`` may be a string or a list of lines. ``source`` (default: the file name) chooses the
    cleaning rules: ``songci``, ``yuanqu`` and ``shijing`` are the classical ones.
    """
    path = Path(path)
    text = _decode(_open_bytes(path), path)
    builder = _Builder(path, clean)
    index = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(
                f"song file {describe_path(path)} line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
                "each line must be one JSON object such as {\"id\": \"1\", \"title\": ..., \"lyrics\": ...}."
            ) from None
        if not isinstance(obj, dict):
            raise CorpusError(
                f"song file {describe_path(path)} line {number}: expected a JSON object, found {type(obj).__name__}; "
                "write one object per line."
            )
        missing = [name for name in _REQUIRED if name not in obj]
        if missing:
            raise CorpusError(
                f"song file {describe_path(path)} line {number}: missing key(s) {missing}; "
                f"found {sorted(obj)}. Each line needs title and lyrics (id, artist, popularity optional)."
            )
        if isinstance(obj["lyrics"], list):
            obj = {**obj, "lyrics": "\n".join(str(x) for x in obj["lyrics"])}
        builder.add(obj, number, index)
        index += 1
    return builder.corpus("jsonl")


def read_songs(path: PathLike, *, clean: bool = True) -> SongCorpus:
    """Read songs from a .csv / .jsonl file (each optionally .gz or .xz) or a chinese-poetry folder.

    The lyrics are cleaned (`graphrec.data.clean`; what was removed is in ``provenance["cleaning"]``)
    unless ``clean=False``.
    """
    path = Path(path)
    if path.is_dir():
        return read_classical(path, clean=clean)
    name = path.name.lower()
    for suffix in (".gz", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".csv"):
        return read_songs_csv(path, clean=clean)
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return read_songs_jsonl(path, clean=clean)
    raise CorpusError(
        f"song file {describe_path(path)} has an unknown type; expected .csv, .jsonl (optionally .gz or .xz) "
        "or a chinese-poetry folder. Rename the file or convert it."
    )


# ---------------------------------------------------------------------------------------------- classical


def _load_json(path: Path) -> Any:
    text = _decode(_open_bytes(path), path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusError(
            f"classical corpus file {describe_path(path)} line {exc.lineno}: not valid JSON ({exc.msg}); "
            "re-download it (npm pack chinese-poetry@2.0.1)."
        ) from None


def _numbered(folder: Path, pattern: str) -> list[tuple[int, Path]]:
    """Files like ci.song.1000.json sorted by their number (a text sort would put 10000 before 2000)."""
    out = []
    for p in folder.glob(pattern):
        digits = re.findall(r"\.(\d+)\.json$", p.name)
        if digits:
            out.append((int(digits[0]), p))
    return sorted(out)


def popularity_from_rank(entry: dict[str, Any]) -> float | None:
    """The popularity figure of a ci: ``log1p(baidu hit count)``.

    Baidu is the search engine Chinese readers use; its counts span 0 to ~10^7, so log1p puts them on a
    0..16 scale where a famous ci is ~2x an obscure one rather than 1000x. Missing/invalid -> None.
    """
    value = entry.get("baidu")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(math.log1p(value))


def _is_truncation(short: Any, full: Any) -> bool:
    """True when ``short`` is ``full`` with some characters dropped (the rank files lose rare characters: 王庭珪 -> 王庭)."""
    if not isinstance(short, str) or not isinstance(full, str) or not short or len(short) >= len(full):
        return False
    it = iter(full)
    return all(ch in it for ch in short)


_NEARBY = 5  # how far an inserted/missing rank entry may shift the rest of a file


def _join_rank(songs: list[dict[str, Any]], ranks: list[dict[str, Any]], stats: Counter[str]) -> list[float | None]:
    """Popularity per ci, joined on (author, rhythmic), most trusted rule first.

    1. ``position``: same key at the same position (the files line up for ~92% of entries);
    2. ``author_truncated``: same position and tune, the rank file's author is the ci author with
       characters dropped (rare characters are lost there: 王庭珪 -> 王庭);
    3. ``nearby``: the same key within +-5 positions, nearest first (an entry missing from the rank
       file shifts the rest);
    4. ``unique_key``: the key names exactly one unused entry anywhere in the rank file.
    Otherwise the ci gets no figure (``ambiguous`` when several unused entries share its key,
    ``unmatched`` when none does): a wrong figure is worse than none.
    """
    key = lambda e: (e.get("author"), e.get("rhythmic"))  # noqa: E731
    by_key: dict[tuple[Any, Any], list[int]] = {}
    for j, entry in enumerate(ranks):
        by_key.setdefault(key(entry), []).append(j)
    used: set[int] = set()
    match: dict[int, int] = {}
    for i, ci in enumerate(songs):
        if i < len(ranks) and key(ranks[i]) == key(ci):
            match[i] = i
            used.add(i)
            stats["position"] += 1
    for i, ci in enumerate(songs):
        if i in match or i >= len(ranks) or i in used:
            continue
        if ranks[i].get("rhythmic") == ci.get("rhythmic") and _is_truncation(ranks[i].get("author"), ci.get("author")):
            match[i] = i
            used.add(i)
            stats["author_truncated"] += 1
    for i, ci in enumerate(songs):
        if i in match:
            continue
        for d in sorted(range(-_NEARBY, _NEARBY + 1), key=abs):
            j = i + d
            if d and 0 <= j < len(ranks) and j not in used and key(ranks[j]) == key(ci):
                match[i] = j
                used.add(j)
                stats["nearby"] += 1
                break
    for i, ci in enumerate(songs):
        if i in match:
            continue
        candidates = [j for j in by_key.get(key(ci), []) if j not in used]
        if len(candidates) == 1:
            match[i] = candidates[0]
            used.add(candidates[0])
            stats["unique_key"] += 1
        else:
            stats["ambiguous" if candidates else "unmatched"] += 1
    return [popularity_from_rank(ranks[match[i]]) if i in match else None for i in range(len(songs))]


def read_classical(root: PathLike, parts: Sequence[str] = CLASSICAL_PARTS, *, clean: bool = True) -> SongCorpus:
    """Read the chinese-poetry layout: Song ci, Yuan qu and the Shijing, with ci popularity from the rank files.

    Ids: ``songci:NNNNN`` (position over the numerically sorted ci files), ``yuanqu:NNNNN``, ``shijing:NNN``.
    The lyrics are cleaned per part (`graphrec.data.clean`); ``clean=False`` gives the source text as
    it is (what ``tools/make_data.py`` ships), and no tunes.
    """
    root = Path(root)
    unknown = [p for p in parts if p not in CLASSICAL_PARTS]
    if unknown:
        raise CorpusError(f"unknown classical part(s) {unknown}; choose from {list(CLASSICAL_PARTS)}.")
    if not root.is_dir():
        raise CorpusError(
            f"classical corpus folder {describe_path(root)} does not exist; give the folder that holds songci/, yuanqu/, shijing/."
        )
    songs: list[Song] = []
    counts: dict[str, int] = {}
    skipped: Counter[str] = Counter()
    rank_stats: Counter[str] = Counter()
    cleaner = _Cleaner(clean)

    if "songci" in parts:
        files = _numbered(root / "songci", "ci.song.*.json")
        if not files:
            raise CorpusError(f"no songci/ci.song.*.json files under {describe_path(root)}; check the folder layout.")
        n = 0
        for number, path in files:
            entries = _load_json(path)
            rank_path = root / "rank" / "ci" / f"ci.song.rank.{number}.json"
            if rank_path.exists():
                pops = _join_rank(entries, _load_json(rank_path), rank_stats)
            else:
                pops = [None] * len(entries)
                rank_stats["no_rank_file"] += len(entries)
            for entry, pop in zip(entries, pops):
                song_id = f"songci:{n:05d}"
                n += 1  # numbered before skipping, so ids stay put if a cleaning rule changes
                title = str(entry.get("rhythmic", ""))
                lyrics, tune, empty = cleaner.song(title, "\n".join(entry.get("paragraphs") or []).strip(), "songci", None)
                if empty:
                    skipped[f"songci: {empty.replace(' lyrics', '')}"] += 1
                    continue
                songs.append(Song(song_id, title, str(entry.get("author", "")), lyrics, pop, "songci", tune))
        counts["songci"] = sum(1 for s in songs if s.source == "songci")
        unmatched = rank_stats["unmatched"] + rank_stats["ambiguous"] + rank_stats["no_rank_file"]
        log.info(
            "songci popularity: %d joined (%s), %d without a figure",
            len([s for s in songs if s.source == "songci" and s.popularity is not None]), dict(rank_stats), unmatched,
        )

    if "yuanqu" in parts:
        path = root / "yuanqu" / "yuanqu.json"
        if not path.exists():
            raise CorpusError(f"missing {describe_path(path)}; give a chinese-poetry folder or drop 'yuanqu' from parts.")
        for i, entry in enumerate(_load_json(path)):
            title = str(entry.get("title", ""))
            lyrics, tune, empty = cleaner.song(title, "\n".join(entry.get("paragraphs") or []).strip(), "yuanqu", None)
            if empty:
                skipped[f"yuanqu: {empty.replace(' lyrics', '')}"] += 1
                continue
            songs.append(Song(f"yuanqu:{i:05d}", title, str(entry.get("author", "")), lyrics, None, "yuanqu", tune))
        counts["yuanqu"] = sum(1 for s in songs if s.source == "yuanqu")

    if "shijing" in parts:
        path = root / "shijing" / "shijing.json"
        if not path.exists():
            raise CorpusError(f"missing {describe_path(path)}; give a chinese-poetry folder or drop 'shijing' from parts.")
        for i, entry in enumerate(_load_json(path)):
            lyrics, _, empty = cleaner.song(str(entry.get("title", "")), "\n".join(entry.get("content") or []).strip(), "shijing", None)
            if empty:
                skipped[f"shijing: {empty.replace(' lyrics', '')}"] += 1
                continue
            artist = "·".join(x for x in ("诗经", entry.get("chapter", ""), entry.get("section", "")) if x)
            songs.append(Song(f"shijing:{i:03d}", str(entry.get("title", "")), artist, lyrics, None, "shijing"))
        counts["shijing"] = sum(1 for s in songs if s.source == "shijing")

    if not songs:
        raise CorpusError(f"the classical corpus under {describe_path(root)} has no songs with text; check the files.")
    return SongCorpus(
        songs=songs,
        provenance={
            "path": str(root),
            "format": "chinese-poetry",
            "parts": list(parts),
            "counts": counts,
            "skipped": dict(skipped),
            "popularity": "log1p(baidu hit count) from rank/ci; None for yuanqu, shijing and unmatched ci",
            "rank_join": dict(rank_stats),
            "cleaning": cleaner.provenance(),
        },
    )


def write_songs_jsonl(corpus: Sequence[Song], path: PathLike) -> None:
    """Write songs as JSON Lines (xz-compressed when the name ends in .xz, gzip for .gz), atomically."""
    from graphrec._io import atomic_write_bytes

    path = Path(path)
    data = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in corpus).encode("utf-8")
    if path.name.endswith(".xz"):
        data = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    elif path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    atomic_write_bytes(path, data)


def load_default_songs() -> SongCorpus:
    """The classical corpus shipped in ``data/songs/classical.jsonl.xz``."""
    from graphrec.data.bundled import CLASSICAL_SONGS

    if not CLASSICAL_SONGS.exists():
        raise CorpusError(
            f"the shipped song corpus {describe_path(CLASSICAL_SONGS)} is missing; re-create it with "
            "`python tools/make_data.py` (needs ../shared/data) or give your own with read_songs(path)."
        )
    corpus = read_songs_jsonl(CLASSICAL_SONGS)
    corpus.provenance["shipped"] = "data/songs/classical.jsonl.xz (chinese-poetry 2.0.1, see data/README.md)"
    return corpus
