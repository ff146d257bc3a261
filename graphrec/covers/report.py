"""Result files of the cover experiments: markdown around graphrec.evaluate.report's tables, and plots."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphrec.evaluate.report import _flat, save_figure


def interval(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``0.412 [0.398, 0.426]``"""
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def results_markdown(title: str, sections: Sequence[tuple[str, str]], meta: Mapping[str, Any], intro: str = "") -> str:
    """``# title``, an optional paragraph, then ``## heading`` + body per section, then the run's metadata."""
    out = [f"# {title}", ""]
    if intro:
        out += [intro.strip(), ""]
    for heading, body in sections:
        out += [f"## {heading}", "", body.rstrip(), ""]
    out += ["## Run", ""]
    out += [f"- **{key}**: {_flat(value)}" for key, value in meta.items()]
    return "\n".join(out) + "\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_intervals(
    path: str | os.PathLike[str],
    bars: Mapping[str, tuple[float, float, float]],
    meta: Mapping[str, Any],
    *,
    ylabel: str,
    title: str,
    references: Mapping[str, float] | None = None,
    ylim: tuple[float, float] = (0.0, 1.0),
) -> Path:
    """Horizontal bars ``name -> (value, low, high)`` with their intervals, and dashed reference lines."""
    plt = _pyplot()
    names = list(bars)
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(names) + 1.6), dpi=120)
    values = np.array([bars[n][0] for n in names])
    errors = np.array([[bars[n][0] - bars[n][1] for n in names], [bars[n][2] - bars[n][0] for n in names]])
    ax.barh(range(len(names)), values, xerr=errors, color="tab:blue", alpha=0.8, capsize=3)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    for (label, value), colour in zip((references or {}).items(), ("tab:red", "tab:gray", "tab:green", "tab:orange")):
        ax.axvline(value, linestyle="--", color=colour, label=label)
    ax.set_xlim(*ylim)
    ax.set_xlabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    if references:
        ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path, meta)


def plot_confusions(
    path: str | os.PathLike[str],
    matrices: Mapping[str, np.ndarray],
    genres: Sequence[str],
    meta: Mapping[str, Any],
) -> Path:
    """One panel per classifier: rows = true genre, columns = predicted, cells = share of the row (recall on the diagonal)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.2 * len(matrices), 4.0), dpi=120, squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        share = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
        ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(genres)):
            for j in range(len(genres)):
                ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(genres)))
        ax.set_xticklabels(genres, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(genres)))
        ax.set_yticklabels(genres, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=8)
    return save_figure(fig, path, meta)
