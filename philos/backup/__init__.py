"""``philos backup`` and ``philos restore``: everything Philos keeps, in one archive.

Consistency: every SQL table (concepts, users, refresh tokens, suggestions, the AI ledger, the
outbox, and relations and theses when they live in SQL) is read in one snapshot transaction.
Relations in Neo4j and theses in MongoDB are then read through the ports for the concepts of
that snapshot, and any that names a concept outside it (one made after the snapshot) is left
out: no restored relation or thesis points at a missing concept.

Restore checks the whole archive first (format version, schema revision, checksums, counts)
and changes nothing if any of it is wrong. It writes Neo4j and MongoDB first and the SQL
database last, in one transaction: until that commits the deployment has no concepts, so an
interrupted restore leaves it empty as far as the SQL database can tell, and running it
again (it empties the separate stores before writing) finishes the job. See
``docs/operations.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from philos.backup import separate, sql
from philos.backup.archive import KINDS, Archive, ArchiveError, read_archive, write_archive
from philos.datasources.cached import concept_key, slug_key, thesis_key
from philos.datasources.sql import SqlDatabase
from philos.datasources.stores import Stores
from philos.datasources.versions import STORES as DATA_VERSIONS

__all__ = ["ArchiveError", "RestoreRefused", "backup", "restore"]


class RestoreRefused(Exception):
    """The deployment cannot take this archive as it is; nothing was changed."""


@dataclass(frozen=True)
class Outcome:
    counts: dict[str, int]
    seconds: float
    schema_revision: str


def _sql(stores: Stores) -> SqlDatabase:
    db = stores.database
    if not isinstance(db, SqlDatabase):  # pragma: no cover - bootstrap always builds one
        raise TypeError("backup needs the SQL database Philos was opened on")
    return db


async def backup(stores: Stores, out: Path) -> Outcome:
    """Write an archive of everything ``stores`` hold to ``out``."""
    started = time.monotonic()
    db = _sql(stores)
    graph = separate.graph_adapter(stores)
    theses = separate.thesis_adapter(stores)
    in_sql = {
        k for k in KINDS if not (k == "relations" and graph) and not (k == "theses" and theses)
    }
    records: dict[str, list[dict[str, Any]]] = {}
    async with sql.snapshot(db) as conn:
        revision = await sql.current_revision(conn) or "base"
        for kind in KINDS:
            if kind in in_sql:
                records[kind] = await sql.read_table(conn, sql.TABLES[kind])
    concept_ids = [c["id"] for c in records["concepts"]]
    if graph is not None:
        records["relations"] = await separate.read_relations(stores, concept_ids)
    if theses is not None:
        records["theses"] = await separate.read_theses(stores, concept_ids)
    extra = {
        "created_at": datetime.now(UTC).isoformat(),
        "wiring": {
            "sql": "sqlite" if db.is_sqlite else "postgresql",
            "relations": "neo4j" if graph else "sql",
            "theses": "mongodb" if theses else "sql",
        },
        "consistency": "SQL tables in one snapshot; separate stores read after it, records "
        "naming concepts outside the snapshot left out",
    }
    write_archive(out, Archive(records, revision), extra)
    counts = {k: len(records[k]) for k in KINDS}
    return Outcome(counts, time.monotonic() - started, revision)


def check_revision(archive: Archive) -> None:
    head, known = sql.revisions()
    if archive.schema_revision not in known:
        raise RestoreRefused(
            f"the archive is from a newer schema (revision {archive.schema_revision!r}); this "
            f"Philos knows migrations up to {head!r}. Restore it with the Philos release "
            "that wrote it, or a newer one."
        )


async def restore(
    stores: Stores, path: Path, *, replace: bool = False, batch: int = 500
) -> Outcome:
    """Restore the archive at ``path`` into ``stores``.

    Refuses (``ArchiveError``, ``RestoreRefused``) before changing anything when the archive
    is unreadable, corrupted, truncated, of an unknown format or a newer schema, or when the
    deployment already holds data and ``replace`` is not given (with it, everything is wiped
    first)."""
    started = time.monotonic()
    archive = read_archive(path)
    check_revision(archive)
    db = _sql(stores)
    for kind in KINDS:  # every record fits its table, before anything is written
        table = sql.TABLES[kind]
        for record in archive.records[kind]:
            try:
                sql.decode(table, record)
            except (ValueError, TypeError) as exc:
                raise ArchiveError(f"{path}: a {kind} record does not fit: {exc}") from exc
    present = await sql.counts(db)
    held = {k: n for k, n in present.items() if n}
    if held and not replace:
        listed = ", ".join(f"{n} {k}" for k, n in held.items())
        raise RestoreRefused(
            f"the deployment is not empty (it holds {listed}); restore into an empty one, "
            "or pass --replace to delete everything in it first"
        )
    graph = separate.graph_adapter(stores)
    theses = separate.thesis_adapter(stores)
    if held:
        await sql.wipe(db)
    # With the SQL database empty, anything left in Neo4j or MongoDB belongs to no concept
    # (an interrupted restore's, say): clear it, then write the separate stores.
    await separate.wipe(stores)
    if graph is not None:
        await separate.write_graph(graph, archive.records["concepts"], archive.records["relations"])
    if theses is not None:
        await separate.write_theses(theses, archive.records["theses"], batch)
    in_sql = {
        k for k in KINDS if not (k == "relations" and graph) and not (k == "theses" and theses)
    }
    await sql.write_all(db, archive.records, in_sql, batch)
    await _forget_cached(stores, archive)
    counts = {k: archive.count(k) for k in KINDS}
    return Outcome(counts, time.monotonic() - started, archive.schema_revision)


async def _forget_cached(stores: Stores, archive: Archive) -> None:
    """Cached look-ups and responses from before the restore no longer hold."""
    keys = [concept_key(c["id"]) for c in archive.records["concepts"]]
    keys += [slug_key(c["slug"]) for c in archive.records["concepts"]]
    keys += [thesis_key(t["id"]) for t in archive.records["theses"]]
    for start in range(0, len(keys), 500):
        await stores.cache.delete(keys[start : start + 500])
    await stores.versions.bump(*DATA_VERSIONS)
