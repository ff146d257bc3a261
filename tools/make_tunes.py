#!/usr/bin/env python
"""Write graphrec/data/resources/tunes.txt, the tune names (词牌 and 曲牌) of the classical corpus.

    python tools/make_tunes.py [--shared ../shared/data] [--out graphrec/data/resources/tunes.txt]

A ci's ``rhythmic`` field is its tune (aliases joined by ・ are split). A Yuan-qu title names its tune
in one of a few fixed shapes: ``<play>・<tune>``, ``<mode>・<tune>``, ``<mode>/<tune>``,
``<tune>・<opening words of the lyrics>`` or the bare tune; the tune part is taken from each shape.
Modes (双调, 南吕 ...) and the repeat/coda names (幺篇, 前腔, 尾声 ...) are rules in
`graphrec.data.tunes`, not list entries. Names used only once are left out: a one-off name is as
likely a mis-split title as a tune. Re-running gives the same file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from graphrec._io import atomic_write_text  # noqa: E402
from graphrec.data.tunes import SEPARATORS, is_mode, is_structural  # noqa: E402

_PUNCT = re.compile(r"[，。；？！、：（）()《》]")
_CJK_ONLY = re.compile(r"^[\u3400-\u9fff]{2,10}$")
_NUMERAL = re.compile(r"^[一二三四五六七八九十百]+$")


def _parts(title: str) -> list[str]:
    return [p.strip() for p in re.split(SEPARATORS, title)]


def _tune_name(part: str) -> str | None:
    """A tune-looking part: 2-10 CJK characters, no punctuation, not a mode or a repeat/coda name."""
    part = part.split("/")[-1].strip()  # 仙吕/点绛唇 -> 点绛唇
    if not _CJK_ONLY.match(part) or _NUMERAL.match(part) or is_mode(part) or is_structural(part):
        return None
    return part


def collect(shared: Path) -> tuple[Counter[str], Counter[str]]:
    ci: Counter[str] = Counter()
    for path in sorted((shared / "chinese-poetry" / "songci").glob("ci.song.*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            for part in _parts(str(entry.get("rhythmic", ""))):
                name = _tune_name(part)
                if name:
                    ci[name] += 1
    qu: Counter[str] = Counter()
    for entry in json.loads((shared / "chinese-poetry" / "yuanqu" / "yuanqu.json").read_text(encoding="utf-8")):
        parts = [p for p in _parts(str(entry.get("title", ""))) if p]
        if not parts:
            continue
        if len(parts) == 1:
            candidates = [parts[0]]
        elif _PUNCT.search(parts[-1]):
            candidates = [parts[0]]  # <tune>・<opening words>
        else:
            candidates = [parts[-1]]  # <play or mode>・<tune>
        for part in candidates:
            name = _tune_name(part)
            if name:
                qu[name] += 1
    return ci, qu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "graphrec" / "data" / "resources" / "tunes.txt")
    args = parser.parse_args(argv)
    if not (args.shared / "chinese-poetry").is_dir():
        parser.error(f"{args.shared} lacks chinese-poetry/; see data/README.md for how to get it.")
    ci, qu = collect(args.shared)
    both = ci + qu
    kept = sorted((n for n in both if both[n] >= 2), key=lambda n: (-both[n], n))
    lines = [
        "# Tune names (词牌 of the Song ci, 曲牌 of the Yuan qu) from chinese-poetry 2.0.1, made by tools/make_tunes.py.",
        "# Format: name<TAB>ci uses<TAB>qu uses. Names used once are left out.",
    ]
    lines += [f"{n}\t{ci[n]}\t{qu[n]}" for n in kept]
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print(json.dumps({"tunes": len(kept), "ci_names": len(ci), "qu_names": len(qu)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
