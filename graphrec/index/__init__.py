"""Nearest-neighbour search."""

from graphrec.index.exact import ExactIndex

__all__ = ["ExactIndex"]
