#!/usr/bin/env python
"""Build the repository's data/ folder from ../shared/data (re-runnable; output is byte-identical on a re-run).

    python tools/make_data.py [--shared ../shared/data] [--out data]

Writes:
    data/songs/classical.jsonl.xz     the classical corpus (Song ci, Yuan qu, Shijing) as JSON Lines, text as in the source
    data/songs/LICENSE-chinese-poetry
    data/images/emoji/img/<HEX>.png   the 1,911 Noto emoji drawings, 64x64
    data/images/emoji/manifest.csv    path,keywords,weight,id,... with the Chinese keywords
    data/images/emoji/LICENSE-*       emojibase, emoji-datasource, Noto (Apache-2.0) and CLDR notes
    data/images/photos/weather/<class>/*.jpg   the Multi-class Weather photos (CC BY 4.0), labelled at read
                                      time by graphrec/data/resources/photo_classes.csv (+ overrides)
    data/images/photos/LICENSE-weather.txt     the attribution CC BY 4.0 asks for
    data/counts.json                  what was written, and what the loader keeps after cleaning (tests compare)
The data/README.md (provenance) is kept by hand.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphrec._io import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file  # noqa: E402
from graphrec.data.songs import read_classical, read_songs_jsonl, write_songs_jsonl  # noqa: E402

LABEL_WEIGHT = 1.0
TAG_WEIGHT = 0.5  # tags_zh / cldr_zh describe the picture less directly than its label

NOTO_NOTE = """The emoji images in img/ are Google Noto Emoji drawings (64x64 PNG), taken unchanged from the
npm package emoji-datasource-google 16.0.0 (package/img/google/64/), renamed to the upper-case hexcode.

Noto Emoji images: Copyright Google Inc., licensed under the Apache License, Version 2.0
  https://www.apache.org/licenses/LICENSE-2.0  (https://github.com/googlefonts/noto-emoji)
The emoji-datasource package itself is MIT-licensed (LICENSE-emoji-datasource, beside this file).
"""

CLDR_NOTE = """The Chinese keywords in manifest.csv come from
  - emojibase-data 17.0.0 (MIT, LICENSE-emojibase-data): label and tags of zh/data.json;
  - cldr-annotations-full 48.2.0, annotations/zh (Unicode CLDR data, Unicode License v3:
    https://www.unicode.org/license.txt). Copyright (c) 1991-2025 Unicode, Inc.
"""


def build_songs(shared: Path, out: Path) -> dict[str, object]:
    # the source text as it is: the loader cleans on read (graphrec.data.clean), as it does users' files
    corpus = read_classical(shared / "chinese-poetry", clean=False)
    target = out / "songs" / "classical.jsonl.xz"
    write_songs_jsonl(corpus, target)
    shutil.copyfile(shared / "chinese-poetry" / "LICENSE", out / "songs" / "LICENSE-chinese-poetry")
    loaded = read_songs_jsonl(target)
    return {
        "songs": len(corpus),
        "by_source": corpus.provenance["counts"],
        "skipped": corpus.provenance["skipped"],
        "rank_join": corpus.provenance["rank_join"],
        "with_popularity": sum(1 for s in corpus if s.popularity is not None),
        "file": str(target.relative_to(out)),
        "bytes": target.stat().st_size,
        "sha256": sha256_file(target),
        "loaded": {  # what load_default_songs() gives after cleaning
            "songs": len(loaded),
            "skipped": loaded.provenance["skipped"],
            "cleaning": loaded.provenance["cleaning"],
        },
    }


def build_emoji(shared: Path, out: Path) -> dict[str, object]:
    src = shared / "emoji-zh"
    entries = json.loads((src / "emoji_keywords.json").read_text(encoding="utf-8"))
    folder = out / "images" / "emoji"
    img_dir = folder / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "keywords", "weight", "id", "emoji", "label_en", "group", "subgroup", "licence"])
    written, skipped = 0, []
    wanted = set()
    for entry in entries:
        hexcode = entry["hexcode"]
        image = src / "img64" / f"{hexcode}.png"
        if not image.exists():
            skipped.append(hexcode)
            continue
        weights: dict[str, float] = {}
        label = (entry.get("label_zh") or "").strip()
        if label:
            weights[label] = LABEL_WEIGHT
        for tag in list(entry.get("tags_zh") or []) + list(entry.get("cldr_zh") or []):
            tag = tag.strip()
            if tag and "|" not in tag and tag not in weights:
                weights[tag] = TAG_WEIGHT
        if not weights:
            skipped.append(hexcode)
            continue
        name = f"{hexcode}.png"
        wanted.add(name)
        dest = img_dir / name
        if not dest.exists() or dest.read_bytes() != image.read_bytes():
            shutil.copyfile(image, dest)
        writer.writerow([
            f"img/{name}", "|".join(weights), "|".join(f"{w:g}" for w in weights.values()), f"emoji:{hexcode}",
            entry.get("emoji", ""), entry.get("label_en", ""), entry.get("group", ""), entry.get("subgroup", ""),
            "Apache-2.0 (Noto Emoji)",
        ])
        written += 1
    for stale in img_dir.iterdir():  # a re-run with fewer images must not leave old ones behind
        if stale.name not in wanted:
            stale.unlink()
    atomic_write_text(folder / "manifest.csv", buffer.getvalue())
    shutil.copyfile(src / "LICENSE-emojibase-data", folder / "LICENSE-emojibase-data")
    shutil.copyfile(src / "LICENSE-images-emoji-datasource", folder / "LICENSE-emoji-datasource")
    atomic_write_text(folder / "LICENSE-noto-emoji-images.txt", NOTO_NOTE)
    atomic_write_text(folder / "NOTICE-keywords-cldr.txt", CLDR_NOTE)
    return {
        "images": written,
        "skipped_hexcodes": skipped,
        "manifest": "images/emoji/manifest.csv",
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
    }


WEATHER_NOTE = """The photographs in weather/ are the Multi-class Weather Dataset for Image Classification by
Gbeminiyi Ajayi (Mendeley Data, 2018, V1, doi:10.17632/4drtyfjtfy.1), licensed under the Creative
Commons Attribution 4.0 International licence (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/).

Changes: a sample of the set (the test split committed to GitHub GiovTemp/ml-landscape-weather-classification,
datasets/dataset1/test), re-encoded as JPEG (quality 80, longest side 224-320 px, EXIF orientation
applied) for ../shared/data/photos; copied here unchanged from there. The class folders are the
dataset's own (cloudy, rain, shine, sunrise); graphrec maps each onto song keywords with its reviewed
table graphrec/data/resources/photo_classes.csv (snow scenes filed under rain/shine: photo_overrides.csv).
"""

# Photo sources whose licence lets the repository ship the files (see ../shared/data/PROVENANCE.md):
# Caltech-101 and 15-Scene have no formal licence, so experiments read them from ../shared only.
SHIPPED_PHOTO_SOURCES = ("weather",)


def build_photos(shared: Path, out: Path) -> dict[str, object]:
    folder = out / "images" / "photos"
    counts: dict[str, int] = {}
    for source in SHIPPED_PHOTO_SOURCES:
        src_root = shared / "photos" / source
        wanted = set()
        for class_dir in sorted(p for p in src_root.iterdir() if p.is_dir()):
            dest_dir = folder / source / class_dir.name
            dest_dir.mkdir(parents=True, exist_ok=True)
            for image in sorted(class_dir.iterdir()):
                if image.is_file() and image.suffix.lower() in (".jpg", ".jpeg", ".png"):
                    dest = dest_dir / image.name
                    wanted.add(dest)
                    if not dest.exists() or dest.read_bytes() != image.read_bytes():
                        shutil.copyfile(image, dest)
                    counts[f"{source}/{class_dir.name}"] = counts.get(f"{source}/{class_dir.name}", 0) + 1
        for stale in (folder / source).rglob("*"):  # a re-run with fewer photos must not leave old ones behind
            if stale.is_file() and stale not in wanted:
                stale.unlink()
    atomic_write_text(folder / "LICENSE-weather.txt", WEATHER_NOTE)
    return {
        "photos": sum(counts.values()),
        "by_class": counts,
        "folder": "images/photos",
        "bytes": sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "data", help="where to write (default: the repo's data/)")
    args = parser.parse_args(argv)
    if not (args.shared / "chinese-poetry").is_dir() or not (args.shared / "emoji-zh").is_dir():
        parser.error(f"{args.shared} lacks chinese-poetry/ or emoji-zh/; see data/README.md for how to get them.")
    args.out.mkdir(parents=True, exist_ok=True)
    counts = {
        "songs": build_songs(args.shared, args.out),
        "emoji": build_emoji(args.shared, args.out),
        "photos": build_photos(args.shared, args.out),
    }
    atomic_write_json(args.out / "counts.json", counts)
    print(json.dumps({"songs": counts["songs"]["songs"], "images": counts["emoji"]["images"], "photos": counts["photos"]["photos"],
                      "songs_bytes": counts["songs"]["bytes"], "emoji_bytes": counts["emoji"]["bytes"],
                      "photos_bytes": counts["photos"]["bytes"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
