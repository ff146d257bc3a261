"""Result files of the experiments: CSV rows, paper-style markdown tables, plots, and run metadata.

Every file records what made it (seed, data, featurizer, related-words backend, git commit), so a
number can always be traced to its run.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from graphrec._env import cpu_count
from graphrec._io import atomic_write_bytes, atomic_write_text
from graphrec.evaluate.protocol import PAPER_K, VARIANT_LABELS

# Hsia et al., RecSys 2018: hit-rate@10 against ConceptNet ground truths of top-n related words.
PAPER_HIT_RATE_AT_10: dict[str, dict[int, float]] = {
    "ours": {5: 0.913, 10: 0.918, 50: 0.943, 100: 0.943},
    "KM": {5: 0.902, 10: 0.917, 50: 0.941, 100: 0.943},
    "POP": {5: 0.124, 10: 0.157, 50: 0.356, 100: 0.378},
}
METHOD_LABELS = {"ours": "Ours (graph + LINE)", "KM": "KM (keyword matching)", "POP": "POP (popularity)", "random": "Random"}


def git_commit(root: str | os.PathLike[str] | None = None) -> str:
    """The checkout's commit, with "+dirty" when tracked files differ from it; "unknown" outside git."""
    cwd = str(root or Path(__file__).resolve().parents[2])
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def run_metadata(**fields: Any) -> dict[str, Any]:
    """What every result file records, plus the caller's fields (seed, data, featurizer, related backend, ...)."""
    from graphrec._version import __version__

    return {
        "git_commit": git_commit(),
        "graphrec_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": cpu_count(),
        **fields,
    }


def _flat(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "" if value is None else str(value)


def write_csv(path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> Path:
    """Rows as CSV, with the run's metadata repeated in columns on every row (so any row stands alone)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    meta_columns = [key for key in meta if key not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns + meta_columns)
    for row in rows:
        writer.writerow([_flat(row.get(c)) for c in columns] + [_flat(meta[c]) for c in meta_columns])
    atomic_write_text(path, buffer.getvalue())
    return Path(path)


def _fmt(value: float | None) -> str:
    if value is None or value != value:  # NaN
        return "—"
    return f"{value:.3f}"


def _lookup(rows: Sequence[Mapping[str, Any]], **match: Any) -> float | None:
    for row in rows:
        if all(row.get(key) == value for key, value in match.items()):
            return float(row["hit_rate"])
    return None


def hit_rate_markdown(
    rows: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    *,
    ns: Sequence[int],
    ks: Sequence[int],
    methods: Sequence[str],
    variants: Sequence[str],
    title: str = "Hit-rate against related-word ground truths",
) -> str:
    """The paper's table (hit-rate@10 by n, ours beside the paper's), then every k and variant."""
    out = [f"# {title}", ""]
    out.append("## hit-rate@10, song keywords (the paper's setting)")
    out.append("")
    out.append("| Method | " + " | ".join(f"n = {n}" for n in ns) + " |")
    out.append("|---|" + "---:|" * len(ns))
    for method in methods:
        label = METHOD_LABELS.get(method, method)
        ours = [_fmt(_lookup(rows, method=method, variant="keywords", n=n, k=PAPER_K)) for n in ns]
        out.append(f"| {label}, this run | " + " | ".join(ours) + " |")
        paper = PAPER_HIT_RATE_AT_10.get(method)
        if paper:
            out.append(f"| {label}, paper | " + " | ".join(_fmt(paper.get(n)) for n in ns) + " |")
    out.append("")

    for variant in variants:
        out.append(f"## hit-rate@k, {VARIANT_LABELS.get(variant, variant)} (variant `{variant}`)")
        out.append("")
        header = [f"n={n}, k={k}" for n in ns for k in ks]
        out.append("| Method | " + " | ".join(header) + " |")
        out.append("|---|" + "---:|" * len(header))
        for method in methods:
            values = [_fmt(_lookup(rows, method=method, variant=variant, n=n, k=k)) for n in ns for k in ks]
            out.append(f"| {METHOD_LABELS.get(method, method)} | " + " | ".join(values) + " |")
        out.append("")
    out.append("## Run")
    out.append("")
    for key, value in meta.items():
        out.append(f"- **{key}**: {_flat(value)}")
    out.append("")
    return "\n".join(out)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) if isinstance(row.get(c), float) else _flat(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def plot_hit_rate_vs_n(
    path: str | os.PathLike[str],
    rows: Sequence[Mapping[str, Any]],
    meta: Mapping[str, Any],
    *,
    ns: Sequence[int],
    methods: Sequence[str],
    variant: str = "keywords",
    k: int = PAPER_K,
    with_paper: bool = True,
) -> Path:
    """hit-rate@k against n, one line per method (this run solid, the paper's dashed), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    colours = {"ours": "tab:blue", "KM": "tab:orange", "POP": "tab:green", "random": "tab:gray"}
    for method in methods:
        ys = [_lookup(rows, method=method, variant=variant, n=n, k=k) for n in ns]
        ax.plot(list(ns), [float("nan") if y is None else y for y in ys], marker="o",
                color=colours.get(method), label=f"{method} (this run)")
        paper = PAPER_HIT_RATE_AT_10.get(method) if with_paper and k == 10 else None
        if paper:
            ax.plot(list(ns), [paper.get(n, float("nan")) for n in ns], linestyle="--", marker="x",
                    color=colours.get(method), alpha=0.7, label=f"{method} (paper)")
    ax.set_xscale("log")
    ax.set_xticks(list(ns))
    ax.set_xticklabels([str(n) for n in ns])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("n (related words per keyword in the ground truth)")
    ax.set_ylabel(f"hit-rate@{k}")
    backend = meta.get("related_backend", {})
    ax.set_title(f"hit-rate@{k} vs n ({variant}; truth: {backend.get('name', backend) if isinstance(backend, dict) else backend})", fontsize=9)
    return _finish_plot(fig, ax, path, meta)


def plot_lines(
    path: str | os.PathLike[str],
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    meta: Mapping[str, Any],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    log_x: bool = False,
    xticklabels: Sequence[str] | None = None,
) -> Path:
    """A small line plot (one line per series name) written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for name, (xs, ys) in series.items():
        ax.plot(list(xs), list(ys), marker="o", label=name)
    if log_x:
        ax.set_xscale("log")
    if xticklabels is not None:
        first = next(iter(series.values()))[0]
        ax.set_xticks(list(first))
        ax.set_xticklabels(list(xticklabels))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    return _finish_plot(fig, ax, path, meta)


def _finish_plot(fig: Any, ax: Any, path: str | os.PathLike[str], meta: Mapping[str, Any]) -> Path:
    """Grid, legend, then :func:`save_figure`."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path, meta)


def save_figure(fig: Any, path: str | os.PathLike[str], meta: Mapping[str, Any]) -> Path:
    """Lay out ``fig``, save it as PNG (run metadata in its Description) atomically, and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Description": _flat(dict(meta)), "Software": "graphrec experiments"})
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)
