"""`graphrec serve --model M`: the HTTP service and web page on one model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve recommendations over HTTP, with a web page",
        description="POST /recommend (multipart image upload), GET /songs/{id}, GET /images/{id}, GET /healthz, "
        "and the web page at /.",
    )
    p.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--max-upload-mb", type=_positive_float, default=10.0, help="largest upload in MiB (default 10)")
    p.add_argument("--max-pixels", type=int, default=40_000_000, help="largest image in pixels (default 40 million)")
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
