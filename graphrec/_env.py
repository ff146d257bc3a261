"""What graphrec reads from its environment, each in one place: the cache folder and the CPU budget.

Every module that caches something or sizes a worker pool asks here, so one variable moves all of
them: ``GRAPHREC_CACHE`` (else ``$XDG_CACHE_HOME/graphrec``, else ``~/.cache/graphrec``) and the CPUs
this process may run on (its affinity mask on Linux, which containers and ``taskset`` narrow), and
``GRAPHREC_FEATURIZER_BACKEND`` (how the default featurizer runs: ONNX Runtime or torch).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GRAPHREC_CACHE"
BACKEND_ENV = "GRAPHREC_FEATURIZER_BACKEND"
BACKENDS = ("auto", "onnx", "torch")


def cache_dir(*parts: str) -> Path:
    """graphrec's cache folder, or a sub-folder of it (not created here)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        base = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "graphrec"
    return base.joinpath(*parts)


def featurizer_backend() -> str:
    """How the default featurizer runs its network unless told: ``$GRAPHREC_FEATURIZER_BACKEND`` (auto, onnx, torch), else auto."""
    value = os.environ.get(BACKEND_ENV, "").strip().lower() or "auto"
    if value not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}={value!r} is not a featurizer backend; set it to one of {', '.join(BACKENDS)} or unset it.")
    return value


def cpu_count() -> int:
    """CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def decode_workers(requested: int | None = None, *, cap: int = 4) -> int:
    """Image-decoding workers: ``requested``, else one CPU less than there are (the model needs one), 1..``cap``."""
    if requested is not None:
        return requested
    return max(1, min(cap, cpu_count() - 1))


def pool_size(requested: int = 0, *, items: int | None = None, min_items: int = 0, cap: int = 32) -> int:
    """Processes for a CPU-bound pool: ``requested`` (0 = all CPUs), at most the CPUs there are and ``cap``;
    1 (no pool) when fewer than ``min_items`` items would not repay the start-up."""
    if items is not None and items < min_items:
        return 1
    cores = cpu_count()
    return max(1, min(requested or cores, cores, cap))
