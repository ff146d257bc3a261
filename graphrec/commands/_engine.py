"""``--engine local|ray`` and ``--ray-address``, shared by `graphrec score` and `graphrec build`."""

from __future__ import annotations

import argparse

from graphrec.commands._types import positive_int
from graphrec.vision.engines import FeatureEngine


def add_engine_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="where images are featurised: this process (default) or a Ray cluster (pip install 'graphrec[ray]')")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster to use with --engine ray (e.g. ray://head:10001 or auto); default: a local cluster")
    parser.add_argument("--ray-actors", type=positive_int, default=None, help="featurizer actors on the cluster (default: one per CPU)")


def engine_from_args(args: argparse.Namespace) -> FeatureEngine | None:
    """The engine the flags ask for (None: local); a Ray engine without ray installed fails here, before any work."""
    if args.engine == "local":
        if args.ray_address is not None or args.ray_actors is not None:
            FeatureEngine("local", args.ray_address, args.ray_actors)  # raises the error that names the fix
        return None
    from graphrec.vision.engines import require_ray

    require_ray()
    return FeatureEngine("ray", address=args.ray_address, actors=args.ray_actors)
