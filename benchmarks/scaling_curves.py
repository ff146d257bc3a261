"""LINE at growing graph sizes: samples/s and peak memory against edges, measured here, plotted for docs/scaling.md.

    .venv/bin/python benchmarks/scaling_curves.py [--scales 1,10,30] [--samples 20000000] [--threads 2] [--no-save]

For each scale: ``benchmarks/line_speed.py --generate`` writes the seeded paper-shaped graph (scale 1:
62,316 songs, 33,459 images, 72 keywords, ~350k edges; the counts multiply with the scale), then
``line_speed.py`` trains order 2 on it for ``--samples`` edge samples in its own process (so each peak
RSS is that run's). Samples per CPU second are shown beside samples per wall second: on a shared
machine the wall-clock rate moves with the other jobs' load (each row records its load average). The reference is the scale-1 run of the same invocation: ratios of samples/s and
of peak RSS to it. Appends one JSON line to benchmarks/results/scaling_curves.jsonl and writes
docs/scaling_line.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import save_result

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scaling_curves.jsonl"
PLOT = ROOT / "docs" / "scaling_line.png"


def run(cmd: list[str]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "GRAPHREC_NO_PROGRESS": "1"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,30")
    parser.add_argument("--samples", type=int, default=20_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    speed = str(ROOT / "benchmarks" / "line_speed.py")
    rows = []
    with tempfile.TemporaryDirectory(prefix="graphrec-scaling-") as tmp:
        for scale in [float(s) for s in args.scales.split(",")]:
            edges = Path(tmp) / f"paper{scale:g}.txt"
            start = time.perf_counter()
            subprocess.run([sys.executable, speed, "--generate", str(edges), "--scale", str(scale), "--results", ""],
                           check=True, capture_output=True)
            generate_s = time.perf_counter() - start
            r = run([sys.executable, speed, "--edges", str(edges), "--order", "2", "--threads", str(args.threads),
                     "--samples", str(args.samples), "--results", "", "--no-progress", "--out", str(Path(tmp) / "x.emb")])
            row = {"scale": scale, "nodes": r["nodes"], "directed_edges": r["directed_edges"], "generate_s": round(generate_s, 1),
                   "load_s": round(r["load_seconds"], 1), "samples_per_s": round(r["samples_per_s"]),
                   "samples_per_cpu_s": round(r["samples_per_cpu_s"]), "load_average_1m": round(r["loadavg_1m"], 2),
                   "peak_rss_mb": round(r["peak_rss_mb"]), "rss_after_load_mb": round(r["rss_after_load_mb"])}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            edges.unlink()
    ref = rows[0]
    for row in rows:
        row["samples_per_s_vs_scale1"] = round(row["samples_per_s"] / ref["samples_per_s"], 3)
        row["samples_per_cpu_s_vs_scale1"] = round(row["samples_per_cpu_s"] / ref["samples_per_cpu_s"], 3)
        row["peak_rss_vs_scale1"] = round(row["peak_rss_mb"] / ref["peak_rss_mb"], 2)
    result = {
        "benchmark": "scaling_curves", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": "the scale-1 (paper-sized) graph in the same run", "order": 2, "dim": 128,
        "samples": args.samples, "threads": args.threads, "rows": rows, "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "note": "2-core machine shared with other engineers",
    }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    x = [r["directed_edges"] / 1e6 for r in rows]
    left.plot(x, [r["samples_per_s"] / 1e6 for r in rows], "o-", label="samples / wall s (2 threads)")
    left.plot(x, [r["samples_per_cpu_s"] / 1e6 for r in rows], "s--", label="samples / CPU s")
    left.set_xscale("log")
    left.set_xlabel("directed edges (millions)")
    left.set_ylabel("M samples / s")
    left.set_ylim(bottom=0)
    right.plot(x, [r["peak_rss_mb"] / 1024 for r in rows], "o-", color="C1", label="peak RSS")
    right.plot(x, [r["rss_after_load_mb"] / 1024 for r in rows], "s--", color="C2", label="after loading the edges")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("directed edges (millions)")
    right.set_ylabel("GiB")
    for ax, r in ((left, rows), (right, rows)):
        for row in r:
            ax.annotate(f"{row['scale']:g}x", (row["directed_edges"] / 1e6, ax.get_lines()[0].get_ydata()[r.index(row)]),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
    from graphrec.evaluate.report import _finish_plot  # the experiments' atomic PNG writer (run metadata inside)

    left.grid(alpha=0.3)
    left.legend(fontsize=7, loc="lower left")
    _finish_plot(fig, right, PLOT, {"benchmark": "scaling_curves", "time": result["time"]})
    save_result(RESULTS, result, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
