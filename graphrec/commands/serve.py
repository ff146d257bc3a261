"""`graphrec serve --model M`: the HTTP service and web page on one model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from graphrec.commands._types import port, positive_float, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve recommendations over HTTP, with a web page",
        description="POST /recommend (multipart image upload), GET /songs/{id}, GET /images/{id}, GET /healthz, "
        "and the web page at /.",
    )
    p.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=positive_float, default=10.0, help="largest upload in MiB (default 10)")
    p.add_argument("--max-pixels", type=positive_int, default=40_000_000, help="largest image in pixels (default 40 million)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.serve.app import serve

    level = logging.getLogger().getEffectiveLevel()
    serve(
        args.model,
        host=args.host,
        port=args.port,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_pixels=args.max_pixels,
        log_level="debug" if level <= logging.DEBUG else "info",
    )
    return 0
