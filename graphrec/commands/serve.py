"""`graphrec serve --model M`: the HTTP service and web page on one model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from graphrec.commands._types import non_negative_float, port, positive_float, positive_int


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
    p.add_argument("--max-upload-mb", type=positive_float, help="largest upload in MiB (default 10)")
    p.add_argument("--max-pixels", type=positive_int, help="largest image in pixels (default 40 million)")
    p.add_argument("--max-connections", type=positive_int, help="answer 503 past about this many open connections (default 64)")
    p.add_argument("--header-timeout", type=positive_float, help="close a connection whose request headers take longer, in seconds (default 10)")
    p.add_argument("--batch-size", type=positive_int, help="images featurised together at most (default 16; 1 = each request alone)")
    p.add_argument("--batch-wait-ms", type=non_negative_float, help="how long a batch waits for more images, in ms (default 5)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.serve.app import serve
    from graphrec.serve.server import ServerLimits

    level = logging.getLogger().getEffectiveLevel()
    limits: dict[str, int] = {}  # only the flags given override the service's defaults
    if args.max_upload_mb is not None:
        limits["max_upload_bytes"] = int(args.max_upload_mb * 1024 * 1024)
    if args.max_pixels is not None:
        limits["max_pixels"] = args.max_pixels
    batching: dict[str, Any] = {}
    if args.batch_size is not None:
        batching["max_batch"] = args.batch_size
    if args.batch_wait_ms is not None:
        batching["batch_wait_ms"] = args.batch_wait_ms
    server: dict[str, Any] = {}
    if args.max_connections is not None:
        server["max_connections"] = args.max_connections
    if args.header_timeout is not None:
        server["header_timeout_s"] = args.header_timeout
    serve(
        args.model, host=args.host, port=args.port, log_level="debug" if level <= logging.DEBUG else "info",
        limits=ServerLimits(**server), **limits, **batching,
    )
    return 0
