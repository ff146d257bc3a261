"""`graphrec collect-images`: keyword-labelled thumbnails from Wikimedia Commons or Openverse."""

from __future__ import annotations

import argparse
from pathlib import Path

from graphrec.commands._types import non_negative_int, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "collect-images",
        help="download keyword-labelled images from a public image API into a manifest",
        description="Search Wikimedia Commons or Openverse for each keyword, download bounded thumbnails, and append them "
        "to OUT/journal.csv as they are found; OUT/manifest.csv (path,keywords,weight,source_url,licence,author,sha256,...: "
        "one row per image, for graphrec build --images) is rebuilt from it after every keyword. Safe to interrupt: running "
        "it again fetches only what is missing. See docs/collect-images.md.",
    )
    p.add_argument("--keywords", type=Path, required=True, help="UTF-8 text file, one keyword per line, # comments")
    p.add_argument("--out", type=Path, required=True, help="output folder (manifest.csv, journal.csv, rejected.csv, summary.json, files/)")
    p.add_argument("--per-keyword", type=positive_int, help="images to keep per keyword (default 100)")
    p.add_argument("--source", choices=["commons", "openverse"], help="image API (default commons)")
    p.add_argument("--endpoint", help="search API URL of a server with the same API (default: the public service)")
    p.add_argument("--lang", help="query languages, e.g. en (default: English gloss of the keyword) or zh,en (both)")
    p.add_argument("--thumb-size", type=positive_int, help="longest side of saved thumbnails in px (default 320)")
    p.add_argument("--max-bytes", type=positive_int, help="abandon downloads larger than this (default 10 MiB)")
    p.add_argument("--rate", type=float, help="requests per second per host (default 1)")
    p.add_argument("--contact", metavar="EMAIL", help="contact address sent in the User-Agent (API operators ask for one)")
    p.add_argument("--licence-type", help="Openverse license_type filter, e.g. commercial or modification")
    p.add_argument("--timeout", type=float, help="read timeout per request in seconds (default 30)")
    p.add_argument("--retries", type=non_negative_int, help="retries on 429/5xx/timeouts (default 4)")
    p.add_argument("--max-downloads", type=positive_int, help="stop after this many downloads (run again to continue)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.collect import CollectConfig, collect_images, read_keywords
    from graphrec.collect.translate import parse_langs

    # Only the flags given override CollectConfig's defaults, so each default lives once, in the config.
    flags = {
        "per_keyword": args.per_keyword,
        "source": args.source,
        "endpoint": args.endpoint,
        "langs": parse_langs(args.lang) if args.lang is not None else None,
        "thumb_size": args.thumb_size,
        "max_bytes": args.max_bytes,
        "rate": args.rate,
        "contact": args.contact,
        "licence_type": args.licence_type,
        "read_timeout": args.timeout,
        "retries": args.retries,
        "max_downloads": args.max_downloads,
    }
    config = CollectConfig(**{name: value for name, value in flags.items() if value is not None})
    summary = collect_images(read_keywords(args.keywords), args.out, config)
    print(summary.format_table())
    return 0
