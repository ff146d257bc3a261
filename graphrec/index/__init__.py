"""Nearest-neighbour search: exact numpy (``ExactIndex``) and FAISS (``FaissIndex``), one contract;
``make_index`` picks between them."""

from graphrec.index.exact import ExactIndex
from graphrec.index.faiss_index import FaissIndex
from graphrec.index.select import INDEX_KINDS, Index, IndexKind, describe_index, index_kind, make_index, resolve_kind

__all__ = ["ExactIndex", "FaissIndex", "INDEX_KINDS", "Index", "IndexKind", "describe_index", "index_kind", "make_index", "resolve_kind"]
