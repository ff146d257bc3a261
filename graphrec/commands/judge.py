"""`graphrec judge PLAN`: judge songs for photos on a local page, create the plan, or report precision@10."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from graphrec.commands._types import non_negative_int, port, positive_int


def _photo(text: str) -> tuple[str, Path]:
    theme, sep, path = text.partition("=")
    if not sep or not theme.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"expected THEME=PATH (e.g. 'snow forest=photos/snow.jpg'), got {text!r}")
    return theme.strip(), Path(path.strip())


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "judge",
        help="judge recommended songs for photos (precision@10), on a local web page",
        description="Three steps: (1) `graphrec judge PLAN --create --model DIR --photo 'snow forest=a.jpg' ...` writes "
        "the plan (every method's top-k songs per photo); (2) `graphrec judge PLAN` serves the judging page on "
        "localhost, showing the songs mixed and unlabelled and saving each judgment at once; "
        "(3) `graphrec judge PLAN --report` prints precision@k per theme and method with bootstrap intervals.",
    )
    p.add_argument("plan", type=Path, help="judging plan (JSON)")
    p.add_argument("--judgments", type=Path, help="judgments CSV (default: PLAN with .judgments.csv)")
    p.add_argument("--create", action="store_true", help="create the plan from --model and --photo, then exit")
    p.add_argument("--model", type=Path, help="with --create: model directory (default: $GRAPHREC_MODEL or the demo model)")
    p.add_argument("--photo", type=_photo, action="append", default=[], metavar="THEME=PATH", help="with --create: a photo and its theme (repeat)")
    p.add_argument("-k", "--k", type=positive_int, default=None, help="songs per method and photo (default: the model's when creating, the plan's when reporting)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the random baseline and the bootstrap (default 0)")
    p.add_argument("--report", action="store_true", help="print precision@k per theme and method from the judgments, then exit")
    p.add_argument("--json", action="store_true", help="with --report: print JSON rows")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=port, default=8765, help="port (default 8765)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from graphrec.errors import InputError
    from graphrec.evaluate.judgments import (
        aggregate_precision,
        default_judgments_path,
        load_judgments,
        load_plan,
        make_plan,
        save_plan,
    )

    judgments = args.judgments or default_judgments_path(args.plan)
    if args.create:
        from graphrec.api import load

        if not args.photo:
            raise InputError("--create needs at least one --photo THEME=PATH.")
        plan = make_plan(load(args.model), args.photo, k=args.k, seed=args.seed)
        save_plan(plan, args.plan)
        songs = sum(len(img["songs"]) for img in plan["images"])
        print(f"plan {args.plan}: {len(plan['images'])} photos, {songs} songs to judge; serve it with `graphrec judge {args.plan}`")
        return 0
    plan = load_plan(args.plan)
    if args.report:
        loaded = load_judgments(judgments)
        rows = aggregate_precision(plan, loaded, k=args.k, seed=args.seed)
        if args.json:
            print(json.dumps({"rows": rows, "skipped_lines": loaded.problems}, ensure_ascii=False, indent=2))
            return 0
        print(f"{'theme':<18} {'method':<8} precision@{args.k or plan.get('k')}  95% CI          judged missing")
        for row in rows:
            print(
                f"{row['theme']:<18} {row['method']:<8} {row['precision']:>9.3f}     "
                f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]  {row['judged']:>6} {row['missing']:>7}"
            )
        for problem in loaded.problems:
            print(f"skipped: {problem}")
        return 0
    from graphrec.evaluate.judge_app import serve

    print(f"judging page: http://{args.host}:{args.port}/  (judgments are saved to {judgments}; Ctrl-C to stop)")
    serve(plan, judgments, host=args.host, port=args.port)
    return 0
