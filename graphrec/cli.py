"""The `graphrec` command: parses arguments and calls the library, nothing more.

Each sub-command lives in its own module under `graphrec.commands` and exposes
``register(subparsers)``, which adds a parser whose ``func(args) -> int`` runs it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from graphrec._version import __version__
from graphrec.errors import GraphrecError

# Order here is the order `graphrec --help` lists them.
COMMAND_MODULES = (
    "graphrec.commands.build",
    "graphrec.commands.recommend",
    "graphrec.commands.info",
    "graphrec.commands.score",
    "graphrec.commands.serve",
    "graphrec.commands.judge",
    "graphrec.commands.collect_images",
    "graphrec.commands.covers",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphrec", description="Recommend songs for a photo.")
    parser.add_argument("--version", action="version", version=f"graphrec {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not part of this installation
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.no_progress:
        import os

        os.environ["GRAPHREC_NO_PROGRESS"] = "1"
    try:
        return int(args.func(args) or 0)
    except GraphrecError as exc:
        print(f"graphrec {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"graphrec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
