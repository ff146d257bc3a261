"""Nearest-neighbour search: exact numpy (``ExactIndex``) and FAISS (``FaissIndex``), one contract."""

from graphrec.index.exact import ExactIndex
from graphrec.index.faiss_index import FaissIndex

__all__ = ["ExactIndex", "FaissIndex"]
