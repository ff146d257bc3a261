"""LINE training speed, memory and quality on a LINE-format edge list.

Same interface as the C++ reference's ``line`` binary so both can run on the same files:

    python benchmarks/line_speed.py --edges FILE --order {1,2} --dim 128 --negative 5 \\
        --samples N --threads T --rho 0.025 --seed S --out EMB

FILE holds ``u v w`` per line (each undirected edge in both directions); EMB is
written in word2vec binary format. The last line printed is one JSON object,
also appended to ``benchmarks/results/line_speed.jsonl``.

    --generate FILE [--scale 1.0] [--seed S]   write a seeded paper-shaped graph (62,316 songs,
                                               33,459 images, 72 keywords, ~350k edges at scale 1)
    --quality                                   hold out 5% of song-keyword edges, train orders 1 and 2,
                                               report link-prediction and shared-keyword AUCs
    --reference-samples M                       with --quality: also train a 1-thread run of M samples
                                               (the "equal quality" reference) and report both
    --split                                     also time sampling alone (gradient step switched off)

Only parsing, loading and reporting live here; training is ``graphrec.embed.line.train_line``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "line_speed.jsonl"

# Paper-shaped graph (Hsia et al. 2018): songs and images both link to a 72-keyword vocabulary.
PAPER_SONGS = 62_316
PAPER_IMAGES = 33_459
PAPER_KEYWORDS = 72
THEMES = 8
MEAN_EXTRA_KEYWORDS = 2.65  # 1 + Poisson(2.65) keywords per node: ~350k edges at scale 1
ON_THEME = 0.85  # chance that a node's keyword comes from its own theme
MAX_KEYWORDS = 12


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


# --------------------------------------------------------------------------- generate


def generate(path: Path, scale: float, seed: int) -> dict[str, object]:
    """A seeded graph with latent themes: each keyword belongs to one theme and nodes mostly pick their theme's keywords."""
    rng = np.random.default_rng(seed)
    n_songs, n_images = max(1, round(PAPER_SONGS * scale)), max(1, round(PAPER_IMAGES * scale))
    # The vocabulary size is a model choice (k=72 in the paper), so it does not grow with the corpus.
    n_kw = PAPER_KEYWORDS
    kw_theme = np.arange(n_kw) % THEMES
    kw_pop = 1.0 / (1.0 + rng.permutation(n_kw)) ** 0.8  # Zipf-like keyword popularity
    theme_pop = rng.dirichlet(np.full(THEMES, 3.0))

    def pick(n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        theme = rng.choice(THEMES, size=n_nodes, p=theme_pop)
        want = np.minimum(1 + rng.poisson(MEAN_EXTRA_KEYWORDS, size=n_nodes), MAX_KEYWORDS)
        width = 2 * MAX_KEYWORDS  # candidates per node; duplicates are dropped below
        on = rng.random((n_nodes, width)) < ON_THEME
        # Draw on-theme keywords from the node's theme and off-theme ones from the whole vocabulary, both ∝ popularity.
        global_cdf = np.cumsum(kw_pop) / kw_pop.sum()
        cand = np.searchsorted(global_cdf, rng.random((n_nodes, width)), side="right").clip(max=n_kw - 1)
        per_theme = [np.flatnonzero(kw_theme == t) for t in range(THEMES)]
        theme_cdfs = np.stack([np.cumsum(kw_pop[k]) / kw_pop[k].sum() for k in per_theme])  # equal sizes: 72 / 8
        theme_kws = np.stack(per_theme)
        local = (theme_cdfs[theme][:, None, :] < rng.random((n_nodes, width))[:, :, None]).sum(axis=2).clip(max=theme_kws.shape[1] - 1)
        cand = np.where(on, theme_kws[theme[:, None], local], cand)
        # Keep each node's first `want` distinct candidates.
        key = (np.arange(n_nodes)[:, None] * n_kw + cand).ravel()
        first = np.zeros(key.size, bool)
        first[np.unique(key, return_index=True)[1]] = True
        first = first.reshape(n_nodes, width)
        rank = np.cumsum(first, axis=1) - 1
        keep = first & (rank < want[:, None])
        rows, cols = np.nonzero(keep)
        kws = cand[rows, cols]
        on_theme = kw_theme[kws] == theme[rows]
        weight = np.where(on_theme, rng.uniform(0.3, 1.0, rows.size), rng.uniform(0.05, 0.5, rows.size))
        return rows, kws, weight

    s_rows, s_kw, s_w = pick(n_songs)
    i_rows, i_kw, i_w = pick(n_images)
    from graphrec._io import atomic_writer

    first = [f"song:{i}" for i in s_rows.tolist()] + [f"image:{i}" for i in i_rows.tolist()]
    kw_names = [f"kw:{k}" for k in range(n_kw)]
    second = np.concatenate([s_kw, i_kw]).tolist()
    weights = np.concatenate([s_w, i_w]).tolist()
    block = 1 << 16
    with atomic_writer(path, "w") as handle:
        for start in range(0, len(first), block):
            rows = zip(first[start : start + block], second[start : start + block], weights[start : start + block])
            handle.write("".join(f"{a} {kw_names[b]} {w:.6f}\n{kw_names[b]} {a} {w:.6f}\n" for a, b, w in rows))
    return {
        "mode": "generate", "path": str(path), "scale": scale, "seed": seed,
        "songs": n_songs, "images": n_images, "keywords": n_kw,
        "undirected_edges": len(first), "directed_edges": 2 * len(first),
    }  # fmt: skip


# --------------------------------------------------------------------------- load


def load_edges(path: Path, block_lines: int = 1 << 20) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Read ``u v w`` lines; node ids in order of first appearance (as the reference numbers them).

    Read in blocks so that the Python strings of one block, not of the whole file, are alive at once.
    """
    index: dict[str, int] = {}
    srcs, dsts, ws = [], [], []
    with open(path, encoding="utf-8") as handle:
        line_no = 0
        while True:
            lines = handle.readlines(block_lines * 24)
            if not lines:
                break
            tokens = " ".join(lines).split()
            if len(tokens) % 3:
                for offset, line in enumerate(lines):
                    if len(line.split()) not in (0, 3):
                        raise SystemExit(f"{path}:{line_no + offset + 1}: expected 'u v w', got {line.strip()!r}")
            line_no += len(lines)
            get = index.setdefault
            srcs.append(np.fromiter((get(t, len(index)) for t in tokens[0::3]), np.int32))
            dsts.append(np.fromiter((get(t, len(index)) for t in tokens[1::3]), np.int32))
            ws.append(np.array(tokens[2::3], dtype=np.float64))
    if not srcs:
        raise SystemExit(f"{path}: no edges found")
    return list(index), np.concatenate(srcs), np.concatenate(dsts), np.concatenate(ws).astype(np.float32)


# --------------------------------------------------------------------------- quality


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


@dataclass
class QualitySplit:
    """Training edges with 5% of song-keyword edges held out, and the pairs every AUC is measured on."""

    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    held: tuple[np.ndarray, np.ndarray]  # (song, keyword) held-out edges
    non_edges: tuple[np.ndarray, np.ndarray]  # random (song, keyword) pairs that are not edges
    share: tuple[np.ndarray, np.ndarray]  # song pairs sharing a training keyword
    no_share: tuple[np.ndarray, np.ndarray]  # random song pairs sharing none
    keyword_degree: np.ndarray  # weighted training degree per node, for the popularity baseline


def make_split(names: list[str], src: np.ndarray, dst: np.ndarray, weight: np.ndarray, seed: int, n_pairs: int = 20_000) -> QualitySplit:
    rng = np.random.default_rng(seed)
    kind = np.array([n.split(":", 1)[0] for n in names])
    is_song, is_kw = kind == "song", kind == "kw"
    if not is_song.any() or not is_kw.any():
        raise SystemExit("--quality needs node names 'song:...' and 'kw:...' (as --generate writes)")
    # Undirected song->keyword edges, one direction each.
    fwd = np.flatnonzero(is_song[src] & is_kw[dst])
    held = rng.choice(fwd, size=max(1, round(0.05 * fwd.size)), replace=False)
    n = np.int64(len(names))
    key = np.minimum(src, dst).astype(np.int64) * n + np.maximum(src, dst)
    drop = np.isin(key, key[held])  # both directions of each held-out edge
    tr_src, tr_dst, tr_w = src[~drop], dst[~drop], weight[~drop]

    songs, kws = np.flatnonzero(is_song), np.flatnonzero(is_kw)
    cand_s, cand_k = rng.choice(songs, 4 * held.size), rng.choice(kws, 4 * held.size)
    free = ~np.isin(np.minimum(cand_s, cand_k) * n + np.maximum(cand_s, cand_k), key[fwd])  # not an edge, held out or not

    # Shared-keyword pairs from the training graph vs song pairs that share none.
    train_fwd = is_song[tr_src] & is_kw[tr_dst]
    ts, tk = tr_src[train_fwd], tr_dst[train_fwd]
    song_row = np.full(len(names), -1, np.int64)
    song_row[songs] = np.arange(songs.size)
    kw_col = np.full(len(names), -1, np.int64)
    kw_col[kws] = np.arange(kws.size)
    member = np.zeros((songs.size, kws.size), bool)
    member[song_row[ts], kw_col[tk]] = True
    by_kw = np.argsort(tk, kind="stable")
    ts_by_kw, tk_sorted = ts[by_kw], tk[by_kw]
    starts = np.searchsorted(tk_sorted, tk_sorted, side="left")
    ends = np.searchsorted(tk_sorted, tk_sorted, side="right")
    pick = rng.integers(0, ts.size, n_pairs * 2)
    partner = ts_by_kw[starts[pick] + (rng.random(pick.size) * (ends[pick] - starts[pick])).astype(np.int64)]
    first = ts_by_kw[pick]
    ok = first != partner
    ra, rb = songs[rng.integers(0, songs.size, n_pairs * 4)], songs[rng.integers(0, songs.size, n_pairs * 4)]
    none = ~(member[song_row[ra]] & member[song_row[rb]]).any(axis=1) & (ra != rb)
    return QualitySplit(
        src=tr_src, dst=tr_dst, weight=tr_w,
        held=(src[held], dst[held]),
        non_edges=(cand_s[free][: held.size], cand_k[free][: held.size]),
        share=(first[ok][:n_pairs], partner[ok][:n_pairs]),
        no_share=(ra[none][:n_pairs], rb[none][:n_pairs]),
        keyword_degree=np.bincount(tr_src, weights=tr_w, minlength=len(names)),
    )  # fmt: skip


def score_vectors(split: QualitySplit, vectors: np.ndarray, order: int) -> dict[str, float]:
    """The AUCs one order's vectors earn on the split (link prediction only for order 1)."""
    v = np.asarray(vectors, dtype=np.float32)
    unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def pair(m: np.ndarray, ab: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return np.einsum("ij,ij->i", m[ab[0]], m[ab[1]])

    out = {f"auc_share_order{order}": auc(pair(unit, split.share), pair(unit, split.no_share))}
    if order == 1:
        out["auc_link_order1"] = auc(pair(v, split.held), pair(v, split.non_edges))
        out["auc_link_order1_cosine"] = auc(pair(unit, split.held), pair(unit, split.non_edges))
    return out


def quality(args: argparse.Namespace, names: list[str], src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> dict[str, object]:
    from graphrec.embed.line import LineConfig, train_line

    split = make_split(names, src, dst, weight, args.seed)

    def evaluate(threads: int, samples: int) -> dict[str, object]:
        out: dict[str, object] = {"threads": threads, "samples": samples}
        for order in (1, 2):
            cfg = LineConfig(dim=args.dim, order=order, negative=args.negative, samples=samples, rho=args.rho, seed=args.seed, threads=threads)
            res = train_line(split.src, split.dst, split.weight, len(names), cfg, show_progress=not args.no_progress)
            out.update(score_vectors(split, res.vectors, order))
            out[f"samples_per_s_order{order}"] = res.samples_per_s
            out[f"train_seconds_order{order}"] = res.train_seconds
        return out

    deg = split.keyword_degree
    report: dict[str, object] = {
        "mode": "quality", "held_out_edges": int(split.held[0].size), "share_pairs": int(split.share[0].size),
        "nonshare_pairs": int(split.no_share[0].size),
        # Context for auc_link_order1: ranking candidate edges by the keyword's popularity alone.
        "auc_link_keyword_degree": auc(deg[split.held[1]], deg[split.non_edges[1]]),
        "run": evaluate(args.threads, args.samples),
    }  # fmt: skip
    if args.reference_samples:
        ref = evaluate(1, args.reference_samples)
        report["reference"] = ref
        report["delta_vs_reference"] = {
            k: report["run"][k] - ref[k] for k in ("auc_link_order1", "auc_share_order1", "auc_share_order2")  # type: ignore[index]
        }
        report["equal_quality"] = all(abs(d) <= 0.01 for d in report["delta_vs_reference"].values())  # type: ignore[union-attr]
    return report


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--edges", type=Path, help="LINE edge list: 'u v w' per line, both directions")
    p.add_argument("--order", type=int, choices=(1, 2), default=2)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--samples", type=int, default=None, help="edge samples (default: graphrec's default for the graph)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rho", type=float, default=0.025)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="embedding output, word2vec binary")
    p.add_argument("--generate", type=Path, metavar="FILE", help="write a paper-shaped graph to FILE and exit")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--quality", action="store_true")
    p.add_argument("--reference-samples", type=int, default=None)
    p.add_argument("--split", action="store_true", help="also time sampling without the gradient step")
    p.add_argument("--results", default=str(RESULTS), help="JSON lines file to append to ('' = none)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.generate is None and args.edges is None:
        p.error("give --edges FILE (or --generate FILE)")
    if args.generate is None and not args.quality and args.out is None:
        p.error("give --out EMB for the embedding")
    if args.scale <= 0:
        p.error("--scale must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "host": platform.node(), "cpus": os.cpu_count(), "loadavg_1m": os.getloadavg()[0]}
    if args.generate is not None:
        record: dict[str, object] = generate(args.generate, args.scale, args.seed)
    else:
        from graphrec.embed.line import LineConfig, compile_kernels, time_sampling, train_line
        from graphrec.embed.keyed import write_word2vec_binary

        start = time.perf_counter()
        names, src, dst, weight = load_edges(args.edges)
        load_seconds = time.perf_counter() - start
        rss_loaded = peak_rss_mb()
        start = time.perf_counter()
        compile_kernels()
        compile_seconds = time.perf_counter() - start
        base = {
            "implementation": "graphrec-numba", "edges": str(args.edges), "nodes": len(names), "directed_edges": int(src.size),
            "dim": args.dim, "negative": args.negative, "rho": args.rho, "seed": args.seed, "threads": args.threads,
            "load_seconds": load_seconds, "compile_seconds": compile_seconds,
        }  # fmt: skip
        if args.quality:
            samples = args.samples or 20_000_000
            args.samples = samples
            record = {**base, "samples": samples, **quality(args, names, src, dst, weight)}
            run = record["run"]
            record["samples_per_s"] = run["samples_per_s_order1"]  # type: ignore[index]
            record["train_seconds"] = run["train_seconds_order1"] + run["train_seconds_order2"]  # type: ignore[index]
        else:
            cfg = LineConfig(dim=args.dim, order=args.order, negative=args.negative, samples=args.samples, rho=args.rho, seed=args.seed, threads=args.threads)
            res = train_line(src, dst, weight, len(names), cfg, show_progress=not args.no_progress)
            start = time.perf_counter()
            write_word2vec_binary(args.out, names, res.vectors)
            record = {
                **base, "mode": "speed", "order": args.order, "samples": res.samples,
                "samples_per_s": res.samples_per_s, "train_seconds": res.train_seconds,
                "cpu_seconds": res.cpu_seconds, "samples_per_cpu_s": res.samples / max(res.cpu_seconds, 1e-9),
                "write_seconds": time.perf_counter() - start,
                "first_loss": res.loss_history[0], "final_loss": res.loss_history[-1],
                "rss_after_load_mb": rss_loaded,
            }  # fmt: skip
            if args.split:
                sampling = time_sampling(src, dst, weight, len(names), cfg, order=args.order)
                record["sampling_seconds"] = sampling
                record["update_seconds"] = res.train_seconds - sampling
                record["sampling_share"] = sampling / res.train_seconds
        record["peak_rss_mb"] = peak_rss_mb()
    record.update(common)
    line = json.dumps(record, sort_keys=True)
    if args.results:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        with open(args.results, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
