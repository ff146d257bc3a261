"""Related words from a local ConceptNet database through conceptnet-lite.

conceptnet-lite keeps ConceptNet in SQLite behind peewee models (``Language``, ``Label``, ``Concept``,
``Relation``, ``Edge``). A word's related words are the labels at the other end of its concepts'
edges over the relations that mean "related" (not Antonym, DistinctFrom, ExternalURL, ...), in the
wanted languages, ranked by edge weight. The database is the user's: either conceptnet-lite's
prebuilt one or one built here from a ConceptNet CSV dump with :func:`build_db`.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graphrec._log import get_logger
from graphrec.errors import BackendUnavailableError, InputError, describe_path
from graphrec.evaluate.related_base import check_n

log = get_logger(__name__)

# ConceptNet relations (conceptnet-lite's snake_case names) that say two concepts are related.
DEFAULT_RELATIONS: tuple[str, ...] = (
    "related_to",
    "synonym",
    "similar_to",
    "is_a",
    "part_of",
    "has_a",
    "at_location",
    "located_near",
    "made_of",
    "used_for",
    "capable_of",
    "has_property",
    "causes",
    "symbol_of",
)

HOW_TO_GET_DB = (
    "get the database with conceptnet-lite: either its prebuilt database "
    "(`python -c \"import conceptnet_lite; conceptnet_lite.connect('PATH')\"`, a ~1.9 GB download that unpacks to ~10 GB) "
    "or build it from ConceptNet's CSV dump (conceptnet-assertions-5.7.0.csv from "
    "https://github.com/commonsense/conceptnet5/wiki/Downloads) with "
    "`python -c \"from graphrec.evaluate.conceptnet import build_db; build_db('DUMP.csv', 'PATH')\"`"
)

# conceptnet-lite binds one database per process (a peewee DatabaseProxy); remember which.
_lock = threading.Lock()
_connected: Path | None = None


def _connect(db_path: Path) -> None:
    global _connected
    if _connected == db_path:
        return
    import conceptnet_lite
    import peewee

    with contextlib.redirect_stdout(io.StringIO()):  # conceptnet-lite prints; the library must not
        try:
            # db_download_url=None and an existing file: conceptnet-lite only opens it, never downloads.
            conceptnet_lite.connect(db_path, db_download_url=None)
        except peewee.DatabaseError as exc:
            raise BackendUnavailableError(
                f"{describe_path(db_path)} is not a usable ConceptNet database ({exc}); {HOW_TO_GET_DB.replace('PATH', str(db_path))}."
            ) from None
    _connected = db_path


def build_db(dump_path: str | os.PathLike[str], db_path: str | os.PathLike[str], *, edge_count: int | None = None) -> Path:
    """Build a conceptnet-lite database at ``db_path`` from a ConceptNet CSV dump, with conceptnet-lite's own loader.

    The dump is ConceptNet's assertions file: tab-separated assertion URI, relation, start, end, JSON info.
    It is kept (never deleted). ``edge_count`` limits how many lines are loaded (all by default).
    """
    from conceptnet_lite.db import load_dump_to_db

    dump = Path(dump_path).expanduser().resolve()
    target = Path(db_path).expanduser().resolve()
    if not dump.is_file():
        raise InputError(
            f"ConceptNet dump {describe_path(dump)} does not exist; download conceptnet-assertions-5.7.0.csv.gz from "
            "https://github.com/commonsense/conceptnet5/wiki/Downloads and unpack it."
        )
    if target.exists():
        raise InputError(f"{describe_path(target)} already exists; remove it or choose another database path.")
    if edge_count is None:
        with open(dump, "rb") as handle:
            edge_count = sum(1 for _ in handle)
    target.parent.mkdir(parents=True, exist_ok=True)
    global _connected
    # conceptnet-lite prints and draws tqdm bars on stderr; the library only logs.
    with _lock, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        load_dump_to_db(dump_path=dump, db_path=target, edge_count=edge_count, delete_dump=False)
        _connected = target  # the loader leaves conceptnet-lite bound to the new database
    log.info("built ConceptNet database %s from %d lines of %s", target, edge_count, dump)
    return target


def write_dump(rows: Iterable[tuple[str, str, str, float]], path: str | os.PathLike[str]) -> Path:
    """Write (relation, start uri, end uri, weight) rows in ConceptNet's CSV dump layout (for small, local databases)."""
    import json

    target = Path(path)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        for relation, start, end, weight in rows:
            info = json.dumps({"dataset": "/d/graphrec", "weight": float(weight)}, ensure_ascii=False)
            # Written by hand, not with csv.writer: the dump leaves the JSON's quotes unescaped.
            handle.write("\t".join((f"/a/[{relation}/,{start}/,{end}/]", relation, start, end, info)) + "\n")
    return target


class ConceptNetLiteRelated:
    """``top_n(word, n)``: neighbours of ``word`` (in ``language``) over ``relations``, by edge weight.

    ``neighbour_languages`` limits the other end's language (default: the query's own).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] | None = None,
        *,
        language: str = "zh",
        neighbour_languages: tuple[str, ...] | None = None,
        relations: tuple[str, ...] = DEFAULT_RELATIONS,
    ) -> None:
        if db_path is None:
            raise BackendUnavailableError(
                "the conceptnet-lite backend needs the path of a ConceptNet database (db_path=...); "
                + HOW_TO_GET_DB
                + "."
            )
        path = Path(db_path).expanduser().resolve()
        if path.is_dir():
            path = path / "conceptnet.db"
        if not path.is_file():
            raise BackendUnavailableError(
                f"no ConceptNet database at {describe_path(path)}; {HOW_TO_GET_DB.replace('PATH', str(path))}."
            )
        try:
            import conceptnet_lite  # noqa: F401
        except ImportError:
            raise BackendUnavailableError("the conceptnet-lite backend needs `pip install conceptnet-lite`.") from None
        self.db_path = path
        self.language = language
        self.neighbour_languages = tuple(neighbour_languages or (language,))
        self.relations = tuple(relations)
        self.name = f"conceptnet-lite:{path.name}"
        with _lock:
            _connect(path)

    def top_n(self, word: str, n: int) -> list[tuple[str, float]]:
        n = check_n(n)
        if n == 0:
            return []
        from conceptnet_lite import Concept, Edge, Label, Language, Relation

        with _lock:
            _connect(self.db_path)
            concept_ids = [
                c.id
                for c in Concept.select(Concept.id)
                .join(Label)
                .join(Language)
                .where((Label.text == word.replace(" ", "_")) & (Language.name == self.language))
            ]
            if not concept_ids:
                return []
            best: dict[str, float] = {}
            # Edges are directed in ConceptNet, but relatedness is not: look both ways.
            for near, far in ((Edge.start, Edge.end), (Edge.end, Edge.start)):
                Other = Concept.alias()
                OtherLabel = Label.alias()
                OtherLanguage = Language.alias()
                query = (
                    Edge.select(Edge.etc, OtherLabel.text)
                    .join(Relation, on=(Edge.relation == Relation.id))
                    .switch(Edge)
                    .join(Other, on=(far == Other.id))
                    .join(OtherLabel, on=(Other.label == OtherLabel.id))
                    .join(OtherLanguage, on=(OtherLabel.language == OtherLanguage.id))
                    .where(
                        near.in_(concept_ids)
                        & Relation.name.in_(self.relations)
                        & OtherLanguage.name.in_(self.neighbour_languages)
                    )
                    .tuples()
                )
                for etc, text in query:
                    other = text.replace("_", " ")
                    if other == word:
                        continue
                    weight = float((etc or {}).get("weight", 1.0))
                    if weight > best.get(other, float("-inf")):
                        best[other] = weight
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:n]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "db_path": str(self.db_path),
            "language": self.language,
            "neighbour_languages": list(self.neighbour_languages),
            "relations": list(self.relations),
        }
