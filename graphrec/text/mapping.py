"""Image keywords onto the song vocabulary: exact words, Cilin synonyms and compounds.

Dataset images come labelled with whatever words their source used (雪花, 月亮, 有伞的海滩); the graph
only has the song vocabulary's words. :func:`map_to_vocabulary` re-labels every image with the
vocabulary words its keywords mean, by the rules of :func:`keyword_matches`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from graphrec._log import get_logger
from graphrec.data.images import ImageRecord, ImageSet
from graphrec.text.cilin import leaf_codes
from graphrec.text.keywords import raw_tokens

log = get_logger(__name__)

# Weight factors of the non-exact mapping rules (see map_to_vocabulary).
SYNONYM_FACTOR = 0.8  # same Cilin leaf: 月亮 -> 月, 太阳 -> 日
COMPOUND_FACTOR = 0.8  # vocabulary word inside the keyword and in the same Cilin class: 樱花 -> 花, 雪人 -> 雪
UNKNOWN_COMPOUND_FACTOR = 0.5  # times the factor of a piece of a keyword that Cilin does not know


def _concrete(codes: frozenset[str]) -> frozenset[str]:
    # Cilin's top class B is "things" (物). Single characters have many senses, and sharing an abstract
    # leaf links nonsense (旗 ~ 海, 女 ~ 阴, 家庭 ~ 门), so only concrete senses take part.
    return frozenset(c for c in codes if c.startswith("B"))


def _cilin_rules(keyword: str, vocabulary: Sequence[str]) -> list[tuple[str, float, str]]:
    codes = leaf_codes()
    kw_codes = _concrete(codes.get(keyword, frozenset()))
    out: list[tuple[str, float, str]] = []
    for word in vocabulary:
        if word == keyword:
            out.append((word, 1.0, "exact"))
            continue
        if not kw_codes:
            continue
        word_codes = _concrete(codes.get(word, frozenset()))
        if kw_codes & word_codes and max(len(keyword), len(word)) > 1:
            # two single characters sharing a leaf are usually different senses (杯 ~ 海, 嘴 ~ 门)
            out.append((word, SYNONYM_FACTOR, "synonym"))
        elif word in keyword and {c[:5] for c in kw_codes} & {c[:5] for c in word_codes}:
            out.append((word, COMPOUND_FACTOR, "compound"))
    return out


def keyword_matches(keyword: str, vocabulary: Sequence[str]) -> list[tuple[str, float, str]]:
    """The vocabulary words one image keyword maps to, as (word, weight factor, rule).

    Rules (Cilin = the HIT Tongyici Cilin thesaurus; only its concrete-thing senses, class B, count):
    ``exact`` (factor 1); ``synonym``: same Cilin leaf, 月亮 -> 月, 太阳 -> 日, not between two single
    characters (0.8); ``compound``: the
    vocabulary word is inside the keyword and both share a Cilin level-4 class, so 樱花 -> 花 and
    雪人 -> 雪 but not 雪花 -> 花 or 雨伞 -> 雨 (0.8); ``segment``: a keyword Cilin does not know
    (有伞的海滩) is cut with jieba and each piece of two or more characters goes through the rules
    above (x 0.5).
    """
    out = _cilin_rules(keyword, vocabulary)
    if out or keyword in leaf_codes() or len(keyword) < 2:
        return out
    best: dict[str, float] = {}
    for piece in raw_tokens(keyword):
        if piece != keyword and len(piece) >= 2:  # one-character pieces (我的天哪 -> 天) are too vague
            for word, factor, _ in _cilin_rules(piece, vocabulary):
                best[word] = max(best.get(word, 0.0), factor * UNKNOWN_COMPOUND_FACTOR)
    return [(w, f, "segment") for w, f in best.items()]


def map_to_vocabulary(images: ImageSet, vocabulary: Sequence[str]) -> tuple[ImageSet, dict[str, Any]]:
    """Re-label every image with song-vocabulary words; drop images left without one.

    Each image keyword maps by `keyword_matches`; the new weight is the keyword's weight times the
    rule's factor, and a vocabulary word reached several ways keeps the largest. Returns the mapped
    set (records in input order, keywords in vocabulary order) and counts: images in/mapped/dropped,
    matches per rule, images per vocabulary word.
    """
    vocab = list(dict.fromkeys(vocabulary))
    position = {w: i for i, w in enumerate(vocab)}
    cache: dict[str, list[tuple[str, float, str]]] = {}
    rules: Counter[str] = Counter()
    per_word: Counter[str] = Counter()
    unmapped_keywords: Counter[str] = Counter()
    records: list[ImageRecord] = []
    dropped: list[str] = []
    for record in images:
        best: dict[str, float] = {}
        for kw, w in zip(record.keywords, record.weights):
            if kw not in cache:
                cache[kw] = keyword_matches(kw, vocab)
            if not cache[kw]:
                unmapped_keywords[kw] += 1
            for word, factor, rule in cache[kw]:
                rules[rule] += 1
                best[word] = max(best.get(word, 0.0), w * factor)
        if not best:
            dropped.append(record.id)
            continue
        ordered = sorted(best, key=position.__getitem__)
        per_word.update(ordered)
        records.append(ImageRecord(record.id, record.path, tuple(ordered), tuple(best[w] for w in ordered), record.extra))
    stats: dict[str, Any] = {
        "images_in": len(images),
        "images_mapped": len(records),
        "images_dropped": len(dropped),
        "dropped_ids_sample": dropped[:20],
        "matches_by_rule": dict(rules),
        "images_per_keyword": {w: per_word[w] for w in vocab if per_word[w]},
        "vocabulary_words_without_images": [w for w in vocab if not per_word[w]],
        "top_unmapped_keywords": unmapped_keywords.most_common(20),
    }
    log.info(
        "images mapped onto the %d-word vocabulary: %d kept, %d dropped (no vocabulary keyword); %d words have no image",
        len(vocab), len(records), len(dropped), len(stats["vocabulary_words_without_images"]),
    )
    return ImageSet(records, {**images.provenance, "mapped_to_vocabulary": len(vocab)}), stats
