"""LINE samples/s on the *default* graph: the shipped songs and emoji, as `make demo` builds it.

    python benchmarks/line_default_graph.py [--samples 10000000] [--edges-out FILE]

Builds the graph exactly as `Recommender.build` does (keywords -> image mapping -> bipartite graph;
no image features are needed for this), then trains LINE order 1 and order 2 with 1 and 2 threads.
The named reference is the same trainer on 1 thread in the same run: each JSON line reports
``ratio_vs_1_thread``. ``--edges-out`` also writes the graph in LINE's edge-list format, so
`benchmarks/line_speed.py` (or the C++ reference) can be run on the very same graph.

The last line printed is one JSON object (all runs); it is also appended to
``benchmarks/results/line_default_graph.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "line_default_graph.jsonl"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=10_000_000, help="edge samples per run (default 10M)")
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--threads", default="1,2", help="thread counts to run, comma-separated (default 1,2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--edges-out", type=Path, help="also write the graph as a LINE edge list here")
    args = p.parse_args(argv)

    from graphrec.data.images import load_default_images
    from graphrec.text.mapping import map_to_vocabulary
    from graphrec.data.songs import load_default_songs
    from graphrec.embed.line import LineConfig, compile_kernels, train_line
    from graphrec.graph.build import build_graph
    from graphrec.text.keywords import KeywordConfig, extract_keywords

    start = time.perf_counter()
    keywords = extract_keywords(load_default_songs(), KeywordConfig(), show_progress=False)
    images, _ = map_to_vocabulary(load_default_images(), keywords.vocabulary)
    graph = build_graph(keywords, images)
    src, dst, weight = graph.directed()
    build_seconds = time.perf_counter() - start
    if args.edges_out:
        with open(args.edges_out, "w", encoding="utf-8") as handle:
            for s, d, w in zip(src.tolist(), dst.tolist(), weight.tolist()):
                handle.write(f"{graph.node_ids[s]} {graph.node_ids[d]} {w:.6g}\n")
    compile_seconds = compile_kernels()

    runs = []
    base: dict[int, float] = {}
    for order in (1, 2):
        for threads in (int(t) for t in args.threads.split(",")):
            config = LineConfig(dim=args.dim, order=order, samples=args.samples, threads=threads, seed=args.seed)
            result = train_line(src, dst, weight, graph.num_nodes, config, show_progress=False)
            if threads == 1:
                base[order] = result.samples_per_s
            run = {
                "order": order,
                "threads": threads,
                "samples": args.samples,
                "samples_per_s": round(result.samples_per_s),
                "train_seconds": round(result.train_seconds, 2),
                "loss_first": round(result.loss_history[0], 4),
                "loss_last": round(result.loss_history[-1], 4),
            }
            if order in base:
                run["ratio_vs_1_thread"] = round(result.samples_per_s / base[order], 3)
            runs.append(run)
            print(json.dumps(run), flush=True)

    summary = {
        "benchmark": "line_default_graph",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": "graphrec LINE on 1 thread, same graph, same run",
        "nodes": graph.num_nodes,
        "directed_edges": int(len(src)),
        "songs": len(keywords.song_ids),
        "images": len(images),
        "keywords": len(keywords.vocabulary),
        "graph_build_seconds": round(build_seconds, 2),
        "compile_seconds": round(compile_seconds, 2),
        "runs": runs,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_count": len(__import__("os").sched_getaffinity(0)),
        "python": platform.python_version(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(summary) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
