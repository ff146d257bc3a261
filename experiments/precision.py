"""precision@10 by human judgment, as in the paper's user study (Hsia et al., RecSys 2018).

Three steps:

    # 1. the plan: every method's top-10 songs for each photo (default: the shipped sample photos)
    python experiments/precision.py plan --model data/model --photo "snow forest=snow.jpg" --photo "coffee=data/samples/coffee.jpg"
    # 2. judging on a local page (songs of all methods mixed and unlabelled)
    graphrec judge results/precision_plan.json
    # 3. the table: precision@10 per theme and method with bootstrap 95% intervals, beside the paper's
    python experiments/precision.py report

Writes results/precision_plan.json (step 1) and results/precision.{csv,md,json} + results/precision.png
(step 3). Step 3 refuses to write a table without judgments: numbers come only from real judges.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import ROOT  # noqa: I001

from graphrec._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from graphrec.evaluate.judgments import (
    PAPER_PRECISION,
    aggregate_precision,
    load_judgments,
    load_plan,
    make_plan,
    save_plan,
)
from graphrec.evaluate.report import markdown_table, run_metadata, write_csv

DEFAULT_PLAN = ROOT / "results" / "precision_plan.json"


def _photo(text: str) -> tuple[str, Path]:
    theme, sep, path = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected THEME=PATH, got {text!r}")
    return theme.strip(), Path(path.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="step", required=True)
    plan = sub.add_parser("plan", help="write the judging plan")
    plan.add_argument("--model", type=Path, help="model directory (default: $GRAPHREC_MODEL or data/model from `make demo`)")
    plan.add_argument("--photo", type=_photo, action="append", default=[], metavar="THEME=PATH",
                      help="photo and theme, repeatable (default: data/samples/*.jpg, theme = file name)")
    plan.add_argument("--k", type=int, default=None, help="songs per method and photo (default: the model's)")
    plan.add_argument("--seed", type=int, default=0)
    plan.add_argument("--plan", type=Path, default=DEFAULT_PLAN)
    report = sub.add_parser("report", help="aggregate the judgments into the precision table")
    report.add_argument("--plan", type=Path, default=DEFAULT_PLAN)
    report.add_argument("--judgments", type=Path, help="judgments CSV (default: PLAN with .judgments.csv)")
    report.add_argument("--out", type=Path, default=ROOT / "results")
    report.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    report.add_argument("--resamples", type=int, default=2000)
    return p.parse_args(argv)


def make(args: argparse.Namespace) -> int:
    from graphrec.api import load

    photos = args.photo or [(p.stem, p) for p in sorted((ROOT / "data" / "samples").glob("*.jpg"))]
    model = load(args.model)
    plan = make_plan(model, photos, k=args.k, seed=args.seed)
    plan["model"]["path"] = str(args.model or "default")
    save_plan(plan, args.plan)
    total = sum(len(img["songs"]) for img in plan["images"])
    print(f"wrote {args.plan}: {len(plan['images'])} photos, {total} distinct songs to judge")
    print(f"next: graphrec judge {args.plan}")
    return 0


def report(args: argparse.Namespace) -> int:
    from graphrec.evaluate.judgments import default_judgments_path

    plan = load_plan(args.plan)
    path = args.judgments or default_judgments_path(args.plan)
    judgments = load_judgments(path)
    if not judgments.judgments:
        print(f"no judgments in {path} yet: judge first with `graphrec judge {args.plan}`; no table written.")
        return 1
    start = time.perf_counter()
    rows = aggregate_precision(plan, judgments, n_resamples=args.resamples, seed=args.seed)
    meta = run_metadata(
        seed=args.seed,
        plan=str(args.plan),
        judgments=str(path),
        judgments_used=len(judgments.latest()),
        skipped_lines=judgments.problems,
        data=plan.get("model", {}),
        featurizer=plan.get("model", {}).get("featurizer"),
        related_backend="none (human judgments)",
        plan_seed=plan.get("seed"),
    )
    out: Path = args.out
    write_csv(out / "precision.csv", rows, {k: meta[k] for k in ("seed", "git_commit", "featurizer", "judgments")})
    table = [{**r, "95% CI": f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]", "paper": r["paper"]} for r in rows]
    md = "# precision@10 by human judgment\n\n"
    md += markdown_table(table, ["theme", "method", "precision", "95% CI", "judged", "missing", "judges", "paper"])
    md += "\n\nPaper (ours only): " + ", ".join(f"{t} {v:.3f}" for t, v in PAPER_PRECISION.items()) + ".\n\n"
    md += "\n".join(f"- **{k}**: {v}" for k, v in meta.items()) + "\n"
    atomic_write_text(out / "precision.md", md)
    atomic_write_json(out / "precision.json", {"meta": meta, "rows": rows})
    _plot(out / "precision.png", rows, meta)
    print(md)
    print(f"wrote {out / 'precision.csv'}, {out / 'precision.md'}, {out / 'precision.png'} in {time.perf_counter() - start:.1f} s")
    return 0


def _plot(path: Path, rows: list[dict], meta: dict) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    themes = list(dict.fromkeys(r["theme"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for i, method in enumerate(methods):
        vals = [next(r for r in rows if r["theme"] == t and r["method"] == method) for t in themes]
        xs = np.arange(len(themes)) + i * width
        means = np.array([v["precision"] for v in vals], dtype=float)
        err = np.array([[m - v["ci_low"], v["ci_high"] - m] for m, v in zip(means, vals)], dtype=float).T
        ax.bar(xs, means, width, yerr=err, capsize=2, label=method)
    for j, theme in enumerate(themes):
        if theme in PAPER_PRECISION:
            ax.plot([j - width / 2, j + 0.8 - width / 2], [PAPER_PRECISION[theme]] * 2, "k--", linewidth=1)
    ax.set_xticks(np.arange(len(themes)) + 0.4 - width / 2)
    ax.set_xticklabels(themes, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("precision@10 (95% bootstrap CI); dashed: paper")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Description": str(meta), "Software": "graphrec experiments"})
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return make(args) if args.step == "plan" else report(args)


if __name__ == "__main__":
    raise SystemExit(main())
