"""The library's logger and progress-bar factory. The library logs and never prints."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

logger = logging.getLogger("graphrec")
logger.addHandler(logging.NullHandler())

T = TypeVar("T")


def progress_enabled(show_progress: bool | None) -> bool:
    """``None`` means: on, unless GRAPHREC_NO_PROGRESS is set."""
    if show_progress is None:
        return not os.environ.get("GRAPHREC_NO_PROGRESS")
    return show_progress


def progress(iterable: Iterable[T] | None = None, *, show_progress: bool | None = None, **kwargs: Any) -> "tqdm[T]":
    """A tqdm bar that can be switched off per call or globally."""
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, disable=not progress_enabled(show_progress), **kwargs)


def get_logger(name: str) -> logging.Logger:
    """A child of the ``graphrec`` logger, e.g. ``get_logger(__name__)``."""
    if name == "graphrec" or name.startswith("graphrec."):
        return logging.getLogger(name)
    return logger.getChild(name)
