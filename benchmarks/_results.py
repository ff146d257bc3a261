"""What every benchmark does with its result: one JSON line, appended to its file under results/ and printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_result(path: Path, result: dict[str, Any], *, save: bool = True) -> str:
    """Append ``result`` as one JSON line to ``path`` (unless ``save`` is false) and print it; returns the line."""
    line = json.dumps(result, ensure_ascii=False)
    if save:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    print(line)
    return line
