"""The HTTP service and web page (``graphrec serve``). FastAPI is imported only when this is used."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from graphrec.serve import app

        return getattr(app, name)
    raise AttributeError(f"module 'graphrec.serve' has no attribute {name!r}")
