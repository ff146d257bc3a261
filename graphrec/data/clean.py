"""Lyric cleaning: keep the words that are sung, drop what only an editor, a stage or a website added.

`clean_lyrics` applies named rules and counts what each removed, so a corpus can say what was taken
out (`CleaningTally`). Which rules apply depends on where the text comes from (``source``):

- ``"yuanqu"`` (Yuan drama, and any text that carries an unmistakable role cue such as ``(正末唱)``):
  every bracketed span is a stage direction, a speaker cue or a tune marker, and the dialogue that a
  speech cue (``(正末云)``, ``(带云)``, ``(诗云)``) opens is spoken, not sung, up to the next singing
  cue (``(唱)``, ``(正旦唱)``, a bare role such as ``(生)``), so it goes too;
- ``"songci"``, ``"shijing"`` (printed editions): a parenthesised span is an editor's note
  (``（缺词文）``, ``（下缺）``, a sub-title), a one-character ``〔态〕`` is a supplied character;
- anything else (users' files, modern lyrics): only what is recognisably not lyrics: chorus and repeat
  marks (``(x2)``, ``[Chorus]``, ``Repeat``, ``(合)``), singer cues when a song has several (``曹：``,
  ``(周)``), credit lines (``作詞：``), LRC timestamps, editors' gap notes; parentheses that hold
  echoes or backing vocals are lyrics and stay.

Everywhere: the Musixmatch excerpt notice, scraped web debris, lines with nothing but ``□``
(``□`` inside a line stays: it marks a lost character and is a segmentation boundary).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from graphrec.data.tunes import DRAMA_SOURCES, is_mode, known_tunes, split_title

EDITION_SOURCES = ("songci", "shijing")  # printed classical editions: parentheses are editors' notes

RULES = (
    "trailer",  # Musixmatch "NOT for Commercial use" notice, its tracking id and the "..." before it
    "web_debris",  # scraped HTTP headers and site navigation
    "timestamp",  # LRC [00:12.34] tags and [ti:...] header lines
    "credit",  # 作词/作曲/编曲 ... lines
    "chorus_mark",  # (x2), Repeat, [Chorus], (合), (合前), leading ＊
    "speaker_cue",  # (正末唱), (白敏中云), 曹：, (周): who sings or speaks
    "spoken",  # dialogue after a speech cue in a play (宾白), up to the next singing cue
    "stage_direction",  # (下), (做拜科), (净、丑上) ...
    "tune_marker",  # (青玉案) heading a play's line: a tune named as a section header
    "tune_quote",  # 〔满庭芳〕 -> 《满庭芳》: a tune the lyrics name ("东坡一曲〔满庭芳〕") is a title, not imagery (not a removal)
    "editorial_note",  # （缺词文）, （下缺）, （和陈漕使仙湖韵）, the brackets of 〔态〕
    "placeholder_line",  # a line with nothing but □ and punctuation
    "no_lyrics",  # "Lyrics not found", "instrumental", 纯音乐
)

# ------------------------------------------------------------------------------------ vocabularies

_ROLES_S = (
    "正末 正旦 冲末 外末 小末 大末 二末 三末 副末 末 末泥 外 外旦 老旦 小旦 大旦 二旦 三旦 贴旦 贴 搽旦 花旦 色旦 副旦 "
    "旦 旦儿 净 副净 二净 丑 小丑 生 小生 卜儿 孛老 孛老儿 孤 外孤 徕儿 俫儿 倈儿 驾 邦老 梅香 众 杂 禾旦 夫 婆"
).split()
_TRAD_ROLE = str.maketrans("儿贴净驾众杂", "兒貼淨駕眾雜")
ROLES = frozenset(_ROLES_S) | frozenset(r.translate(_TRAD_ROLE) for r in _ROLES_S)


def _role_list(roles: frozenset[str]) -> str:
    """A regex for one role or several joined (净、丑; 生同旦), longest names first."""
    alt = "|".join(sorted(map(re.escape, roles), key=len, reverse=True))
    return rf"(?:{alt})(?:[、，,同和与與及](?:{alt}))*"


_ROLE_LIST = _role_list(ROLES)
_SAY = r"(?:云|雲)"
# a cue no modern lyric has: a role (or role list) then sing/say/enter/exit, or a speech verb
# (generic words that are also roles, 众 夫 婆 杂, do not make a text a play; nor does a bare (云))
_STRICT_ROLE_LIST = _role_list(ROLES - set("众眾夫婆杂雜"))
_STRICT_CUE = re.compile(rf"^(?:{_STRICT_ROLE_LIST}(?:唱|{_SAY}|上|下|白)(?:了|科)?|带{_SAY}|帶{_SAY}|诗{_SAY}|詩{_SAY}|词{_SAY}|詞{_SAY})$")
_SPEAK = re.compile(rf"(?:{_SAY}|白|念)(?:了|住|科)?$|[，,、]\s*{_SAY}")
_SING = re.compile(r"唱")
_CHORUS_CUE = re.compile(r"^(?:合|和)(?:前|同前|头|頭)?$|^(?:同前|合唱|同唱|众合|眾合)$")
_ENTER_EXIT = re.compile(r"(?:上|下|出|去)(?:了|科|介)?$")

_SECTION = (
    r"(?:pre[- ]?chorus|chorus|verse|bridge|hook|intro|outro|refrain|interlude|instrumental|solo|rap|music|repeat|"
    r"副歌|主歌|前奏|間奏|间奏|尾奏|過門|过门|重複|重复|合唱|和聲|和声)"
)
_COUNT = r"(?:[x×X＊*]\s*\d+|\d+\s*[x×X]|\d+\s*次|[兩两]次)"
_MARKER = re.compile(rf"(?i)^\s*(?:{_SECTION}\s*\d*|{_COUNT})(?:[\s,，:：]*(?:{_SECTION}\s*\d*|{_COUNT}))*\s*[:：]?\s*$")
_MARK_PREFIX = re.compile(rf"(?i)^\s*{_SECTION}\s*\d*\s*[:：]\s*(?=\S)")
_TRAILING_COUNT = re.compile(r"(?:\s+|(?<=[\u3400-\u9fff]))[（(]?\s*[x×X＊*]\s*\d+\s*[）)]?\s*$|\s+\d+\s*[x×X]\s*$")
_LEAD_STAR = re.compile(r"^\s*[＊*※#]+\s*")
_STARS_ONLY = re.compile(r"^[\s＊*※#]+$")

_CREDIT = re.compile(
    r"(?i)^\s*(?:作词|作詞|词|詞|作曲|曲|编曲|編曲|演唱|原唱|主唱|监制|監製|制作人|製作人|制作|製作|和声|和聲|和音|混音|"
    r"录音|錄音|母带|母帶|吉他|贝斯|貝斯|鼓|键盘|鍵盤|弦乐|弦樂|出品|发行|發行|op|sp|lyrics|lyricist|composer|"
    r"music|arranger|producer|vocals?)\s*(?:by)?\s*[:：]|^\s*(?:lyrics|music|composed|arranged|produced|written)\s+by\b"
)
_LRC_TIME = re.compile(r"\[\d{1,3}:\d{1,2}(?:[.:]\d{1,3})?\]")
_LRC_META = re.compile(r"(?i)^\s*\[(?:ti|ar|al|by|au|offset|length|re|ve|id|#)\s*:[^\]]*\]\s*$")
_WEB_DEBRIS = re.compile(r"(?:Content-Type|Last-Modified|Accept-Ranges|Connection|Alt-Svc)=\[")
_TRAILER = re.compile(r"\*+\s*This Lyrics is NOT for Commercial use\s*\*+", re.IGNORECASE)
_TRACKING = re.compile(r"^\(\d{6,}\)$")
_NO_LYRICS = {"lyrics not found", "instrumental", "纯音乐", "純音樂"}
_GAP_NOTE = re.compile(r"^(?:缺词文|缺詞文|缺文|下缺|上缺|原缺|阙|闕|缺|残缺|殘缺|下阕|下闋|阙文|闕文)$")

_BROKEN_CUE = re.compile(r"[（(［\[][^（）()［］\[\]\n]{0,20}\n[^（）()［］\[\]\n]{0,12}[）)］\]]")
_TUNE_BRACKET = re.compile(r"[〔［【]([^（）()［］\[\]〔〕【】\n]{1,12})[〕］】]")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPAN = re.compile(r"[（(［\[〔【]([^（）()［］\[\]〔〕【】\n]*)[）)］\]〕】]")
_LINE_CUE = re.compile(r"^\s*([\u3400-\u9fff]{1,3}|[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ.&\s]{0,7})\s*[：:]\s*(?=\S)")
_LINE_PAREN_CUE = re.compile(r"^\s*[（(]\s*([\u3400-\u9fff]{1,4}|[A-Za-z][A-Za-z.&\s]{0,7})\s*[）)]\s*(?=\S)")
# lines that go whole: a tracking id, scraped HTTP headers, an LRC header, a credit line
_WHOLE_LINE_RULES: tuple[tuple[Callable[[str], object], str], ...] = (
    (_TRACKING.match, "trailer"),
    (_WEB_DEBRIS.search, "web_debris"),
    (_LRC_META.match, "timestamp"),
    (_CREDIT.match, "credit"),
)
# cheap whole-text tests that say whether a rule can match at all
_LINE_RULE_HINT = re.compile(r"[:：]|=\[|\[[\dA-Za-z#]|^\s*\(\d{6,}\)\s*$|\bby\b", re.MULTILINE | re.IGNORECASE)
_CUE_HINT = re.compile(r"[:：]")
_MARKER_HINT = re.compile(r"[＊*※#A-Za-z0-9×]|副歌|主歌|前奏|[間间]奏|尾奏|[過过]門|过门|重[複复]|合唱|和[聲声]|[兩两]次")
_HAS_WORD = re.compile(r"[\w\u3400-\u9fff\uf900-\ufaff]")
_PLACEHOLDER_LINE = re.compile(r"^[□\s\W_]*□[□\s\W_]*$")


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class CleanResult:
    """The cleaned text and, per rule, how many spans or lines it removed and how many characters."""

    text: str
    removed: dict[str, int] = field(default_factory=dict)
    removed_chars: dict[str, int] = field(default_factory=dict)
    drama: bool = False  # the drama rules were applied

    @property
    def changed(self) -> bool:
        return bool(self.removed)

    @property
    def empty(self) -> bool:
        return not self.text.strip()


class _Log:
    def __init__(self) -> None:
        self.removed: Counter[str] = Counter()
        self.chars: Counter[str] = Counter()

    def __call__(self, rule: str, text: str, n: int = 1) -> None:
        self.removed[rule] += n
        self.chars[rule] += len(text)


# ------------------------------------------------------------------------------------ rules


def _cue_kind(content: str) -> str:
    """What a bracketed span in a play is: chorus, sing, speak, tune, role (a bare singer), direction."""
    c = content.strip().rstrip("。，,.")
    if _CHORUS_CUE.match(c):
        return "chorus"
    if _SING.search(c):
        return "sing"
    if _SPEAK.search(c):
        return "speak"
    pieces = [p for p in c.split("/") if p]
    if pieces and all(is_mode(p) or p in known_tunes() for p in pieces):
        return "tune"
    if re.fullmatch(_ROLE_LIST, c):
        return "role"
    if _ENTER_EXIT.search(c):
        return "exit"
    return "direction"


def _is_drama(lines: list[str], source: str | None) -> bool:
    if source in DRAMA_SOURCES:
        return True
    if source in EDITION_SOURCES:
        return False
    return any(_STRICT_CUE.match(m.group(1).strip()) for line in lines for m in _SPAN.finditer(line))


def _drama(lines: list[str], log: _Log) -> list[str | None]:
    """Drop every bracketed span; drop the dialogue between a speech cue and the next singing cue."""
    out: list[str | None] = []
    speaking = False
    for line in lines:
        kept: list[str] = []
        pos = 0
        touched = False
        for m in _SPAN.finditer(line):
            between = line[pos : m.start()]
            if speaking and between.strip():
                log("spoken", between)
            else:
                kept.append(between)
            kind = _cue_kind(m.group(1))
            rule = {"chorus": "chorus_mark", "sing": "speaker_cue", "speak": "speaker_cue", "role": "speaker_cue", "tune": "tune_marker"}
            log(rule.get(kind, "stage_direction"), m.group(0))
            touched = True
            if kind == "speak":
                speaking = True
            elif kind in ("sing", "role", "chorus", "exit"):
                speaking = False  # a qu entry is a song: after a singer's cue, an entrance or an exit, singing resumes
            pos = m.end()
        rest = line[pos:]
        if speaking and rest.strip():
            log("spoken", rest)
            touched = True
        else:
            kept.append(rest)
        out.append(_tidy("".join(kept)) if touched else line)
    return out


def _quotes(lines: list[str], log: _Log) -> list[str | None]:
    """〔满庭芳〕 / ［满庭芳］ name a tune the lyrics speak of (听〔金缕〕, 东坡一曲〔满庭芳〕): write it as the
    title it is, 《满庭芳》; a one-character 〔态〕 is a character an editor supplied: keep it, unbracketed."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if len(inner) == 1 and m.group(0)[0] == "〔" and _CJK_CHAR.match(inner) and inner not in ROLES:
            log("editorial_note", m.group(0)[0] + m.group(0)[-1])
            return inner
        pieces = [p for p in inner.split("/") if p]
        if pieces and all(is_mode(p) or p in known_tunes() for p in pieces):
            log("tune_quote", "")
            return f"《{inner}》"
        return m.group(0)

    return [_TUNE_BRACKET.sub(repl, line) for line in lines]


def _rewrite(lines: list[str], repl: Callable[[re.Match[str]], str], pre: Callable[[str], str] | None = None) -> list[str | None]:
    """Each line with its bracketed spans replaced by ``repl`` (after ``pre``); a changed line is tidied."""
    out: list[str | None] = []
    for line in lines:
        new = _SPAN.sub(repl, pre(line) if pre else line)
        out.append(_tidy(new) if new != line else line)
    return out


def _edition(lines: list[str], log: _Log) -> list[str | None]:
    """Printed editions: a parenthesised span is an editor's note."""

    def repl(m: re.Match[str]) -> str:
        if m.group(0)[0] in "（(":
            log("editorial_note", m.group(0))
            return ""
        return m.group(0)

    return _rewrite(lines, repl)


def _modern(lines: list[str], log: _Log) -> list[str | None]:
    """Users' lyrics: markers and gap notes in brackets; singer cues when a song has several."""
    paren_cues = sum(1 for line in lines if _LINE_PAREN_CUE.match(line))
    colon_cues = sum(1 for line in lines if _LINE_CUE.match(line) and not _CREDIT.match(line))

    def cues(line: str) -> str:
        if paren_cues >= 2 and (m := _LINE_PAREN_CUE.match(line)):
            log("chorus_mark" if _CHORUS_CUE.match(m.group(1)) else "speaker_cue", m.group(0).strip())
            line = line[m.end() :]
        if colon_cues >= 2 and (m := _LINE_CUE.match(line)):
            log("speaker_cue", m.group(0).strip())
            line = line[m.end() :]
        return line

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if _MARKER.match(inner) or _CHORUS_CUE.match(inner):
            log("chorus_mark", m.group(0))
            return ""
        if _GAP_NOTE.match(inner):
            log("editorial_note", m.group(0))
            return ""
        return m.group(0)

    return _rewrite(lines, repl, cues)


def _markers(lines: list[str], log: _Log) -> list[str | None]:
    """Chorus/repeat marks outside brackets: a line that is only a mark, a leading ＊, a trailing x2."""
    out: list[str | None] = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        if _MARKER.match(line) or _STARS_ONLY.match(line):
            log("chorus_mark", line.strip())
            out.append(None)
            continue
        new = line
        for pattern in (_MARK_PREFIX, _LEAD_STAR, _TRAILING_COUNT):
            m = pattern.search(new)
            if m and m.group(0).strip():
                log("chorus_mark", m.group(0).strip())
                new = new[: m.start()] + new[m.end() :]
        out.append(new if new != line else line)
    return out


def _tidy(line: str) -> str | None:
    """A line after spans were cut from it: None when nothing but punctuation is left."""
    line = re.sub(r"[ \t\u3000]{2,}", " ", line).strip()
    line = re.sub(r"^[，,、；;：:]+", "", line)
    return line if _HAS_WORD.search(line) or "□" in line else None


def _apply(lines: list[str | None], step: Callable[[list[str]], list[str | None]]) -> list[str | None]:
    """Run a rule over the lines still there, keeping removed lines (None) removed."""
    live = [i for i, line in enumerate(lines) if line is not None]
    new = step([line for line in lines if line is not None])
    out = list(lines)
    for i, line in zip(live, new):
        out[i] = line
    return out


def clean_lyrics(text: str, *, source: str | None = None) -> CleanResult:
    """Clean one song's lyrics (see the module docstring for the rules per ``source``).

    Lines are kept as lines (``\\n``); a line that cleaning empties is removed, blank lines already
    there (stanza breaks) stay inside the text and go at its edges. The result's ``removed`` and
    ``removed_chars`` say what each rule took.
    """
    log = _Log()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in text and _BROKEN_CUE.search(text) and _is_drama([text], source):
        text = _BROKEN_CUE.sub(lambda m: m.group(0).replace("\n", ""), text)  # (苏、孟悲科。\n云) is one cue
    raw = [line.rstrip() for line in text.split("\n")]
    lines: list[str | None] = list(raw)
    # each rule runs only on texts that hold a character it needs: most classical lines hold none
    for i, line in enumerate(raw if _TRAILER.search(text) else []):
        if _TRAILER.search(line):
            cut = raw[i:]
            lines = lines[:i]
            while lines and (lines[-1] or "").strip() in ("", "...", "…"):
                cut.insert(0, lines.pop() or "")
            log("trailer", "\n".join(cut))
            break
    for i, entry in enumerate(lines if _LINE_RULE_HINT.search(text) else []):
        if entry is None:
            continue
        rule = next((rule for test, rule in _WHOLE_LINE_RULES if test(entry.strip())), None)
        if rule is not None:
            log(rule, entry.strip())
            lines[i] = None
        elif _LRC_TIME.search(entry):
            stamps = _LRC_TIME.findall(entry)
            log("timestamp", "".join(stamps), len(stamps))
            lines[i] = _LRC_TIME.sub("", entry).strip() or None
    if _TUNE_BRACKET.search(text):
        lines = _apply(lines, lambda ls: _quotes(ls, log))
    live = [line for line in lines if line is not None]
    drama = _is_drama(live, source)
    if drama:
        lines = _apply(lines, lambda ls: _drama(ls, log))
    elif source in EDITION_SOURCES:
        if _SPAN.search(text):
            lines = _apply(lines, lambda ls: _edition(ls, log))
    elif _SPAN.search(text) or _CUE_HINT.search(text):
        lines = _apply(lines, lambda ls: _modern(ls, log))
    if _MARKER_HINT.search(text):
        lines = _apply(lines, lambda ls: _markers(ls, log))
    for i, entry in enumerate(lines if "□" in text else []):
        if entry is not None and _PLACEHOLDER_LINE.match(entry):
            log("placeholder_line", entry)
            lines[i] = None
    kept = [line for line in lines if line is not None]
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    out = "\n".join(kept)
    if out.strip().lower() in _NO_LYRICS:
        log("no_lyrics", out.strip())
        out = ""
    return CleanResult(text=out, removed=dict(log.removed), removed_chars=dict(log.chars), drama=drama)


# ------------------------------------------------------------------------------------ one song


@dataclass(frozen=True)
class CleanSong:
    """A song's cleaned lyrics, its tune, and what cleaning did."""

    lyrics: str
    tune: str
    result: CleanResult
    opening_moved: bool = False  # the lyrics' opening words were taken back from the title


def clean_song(title: str, lyrics: str, *, source: str | None = None, tune: str | None = None) -> CleanSong:
    """Clean one song: its lyrics (`clean_lyrics`) and its title's tune (`graphrec.data.tunes.split_title`).

    ``tune``: the tune if the file says it (``""`` = none); ``None`` = find it in the title. A Yuan-qu
    title that holds the first words of the lyrics (``幺・柔肠脉脉，新愁千万叠。...``, cut off by the
    source) gives them back to the lyrics, which continue mid-line.
    """
    parts = split_title(title, source=source, tune=tune or "")
    text = lyrics
    moved = False
    if parts.opening and parts.tune:  # without a tune before them the source's title is scrambled: leave it
        joint = "\n" if parts.opening.rstrip()[-1:] in "。！？!?" else ""
        text = parts.opening + joint + lyrics.lstrip("\n")
        moved = True
    result = clean_lyrics(text, source=source)
    return CleanSong(lyrics=result.text, tune=parts.tune if tune is None else tune.strip(), result=result, opening_moved=moved)


# ------------------------------------------------------------------------------------ corpus tally


@dataclass
class CleaningTally:
    """What cleaning took from a whole corpus: per rule the songs it touched, the spans and characters."""

    songs: int = 0
    songs_changed: int = 0
    chars_in: int = 0
    chars_out: int = 0
    rule_songs: Counter[str] = field(default_factory=Counter)
    rule_removed: Counter[str] = field(default_factory=Counter)
    rule_chars: Counter[str] = field(default_factory=Counter)
    extra: Counter[str] = field(default_factory=Counter)  # reader repairs, e.g. opening words moved from a title

    def add(self, raw: str, result: CleanResult) -> None:
        self.songs += 1
        self.chars_in += len(raw)
        self.chars_out += len(result.text)
        if result.changed:
            self.songs_changed += 1
        self.rule_songs.update(result.removed.keys())
        self.rule_removed.update(result.removed)
        self.rule_chars.update(result.removed_chars)

    def to_dict(self) -> dict[str, object]:
        return {
            "songs": self.songs,
            "songs_changed": self.songs_changed,
            "chars_in": self.chars_in,
            "chars_out": self.chars_out,
            "rules": {
                rule: {"songs": self.rule_songs[rule], "removed": self.rule_removed[rule], "chars": self.rule_chars[rule]}
                for rule in RULES
                if self.rule_removed[rule]
            },
            **({"repairs": dict(sorted(self.extra.items()))} if self.extra else {}),
        }

