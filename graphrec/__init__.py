"""graphrec: recommend songs for a photo by graph representation learning.

>>> import graphrec
>>> recs = graphrec.recommend("snowy_forest.jpg")            # doctest: +SKIP
>>> for item in recs.items:                                   # doctest: +SKIP
...     print(item.title, item.keywords)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphrec._version import __version__

__all__ = ["Recommender", "Recommendations", "load", "recommend", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.api import load, recommend
    from graphrec.recommender import Recommendations, Recommender


def __getattr__(name: str) -> Any:
    # Imported lazily so that `import graphrec` stays cheap (torch and jieba load on first use).
    if name in ("recommend", "load"):
        from graphrec import api

        return getattr(api, name)
    if name in ("Recommender", "Recommendations"):
        from graphrec import recommender as _recommender_module

        return getattr(_recommender_module, name)
    raise AttributeError(f"module 'graphrec' has no attribute {name!r}")
