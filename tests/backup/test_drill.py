"""Backup and restore drills on real servers: back up the seeded corpus, wipe, restore, and
every read answers as before; broken archives are refused; an interrupted restore reruns."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import philos.backup.separate as backup_separate
import philos.backup.sql as backup_sql
from philos.backup import ArchiveError, RestoreRefused, backup, restore
from philos.backup.archive import read_archive, write_archive
from philos.backup.separate import thesis_adapter
from philos.domain import Concept, Relation, RelationType, Stance, Thesis, new_id
from tests.api.client import Api
from tests.backup.reads import answers, first_two
from tests.settings import PRODUCTION_BACKENDS
from tests.stores import snapshot, wipe

every_wiring = pytest.mark.parametrize(
    "backend", PRODUCTION_BACKENDS, indirect=True, scope="session"
)


async def _state(api: Api) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    return await answers(api), await snapshot(api.stores)


@every_wiring
async def test_backup_wipe_restore_answers_the_same(api: Api, tmp_path: Path) -> None:
    before = await _state(api)
    archive = tmp_path / "philos.tar.gz"
    took = await backup(api.stores, archive)
    assert took.counts["concepts"] > 100 and all(n > 0 for n in took.counts.values()), took
    await wipe(api.stores)
    assert (await answers(api))["concepts"][0]["totalCount"] == 0
    restored = await restore(api.stores, archive)
    print(f"\nbackup {took.seconds:.2f}s, restore {restored.seconds:.2f}s, {took.counts}")
    assert await _state(api) == before
    # Not into a deployment that holds data, unless told to replace it.
    with pytest.raises(RestoreRefused, match=r"not empty.*--replace"):
        await restore(api.stores, archive)
    await restore(api.stores, archive, replace=True)
    assert await _state(api) == before


def _flip(path: Path, at: float) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x5A
    path.write_bytes(bytes(data))


@every_wiring
async def test_broken_archives_are_refused_and_change_nothing(api: Api, tmp_path: Path) -> None:
    good = tmp_path / "good.tar.gz"
    await backup(api.stores, good)
    before = await _state(api)
    broken = {}
    for at in (0.3, 0.6, 0.95):
        flipped = tmp_path / f"flipped-{at}.tar.gz"
        flipped.write_bytes(good.read_bytes())
        _flip(flipped, at)
        broken[flipped.name] = flipped
    for keep in (0.5, 0.99):
        cut = tmp_path / f"truncated-{keep}.tar.gz"
        cut.write_bytes(good.read_bytes()[: int(good.stat().st_size * keep)])
        broken[cut.name] = cut
    for name, path in broken.items():
        # --replace would wipe a good deployment: the archive is checked before that.
        with pytest.raises(ArchiveError):
            await restore(api.stores, path, replace=True)
        assert await snapshot(api.stores) == before[1], name
    assert await answers(api) == before[0]  # the separate stores too, once for all five
    await wipe(api.stores)
    empty = await snapshot(api.stores)
    for path in broken.values():
        with pytest.raises(ArchiveError):
            await restore(api.stores, path)
        assert await snapshot(api.stores) == empty


@every_wiring
async def test_interrupted_restore_runs_again(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await _state(api)
    archive = tmp_path / "philos.tar.gz"
    await backup(api.stores, archive)
    await wipe(api.stores)

    class Interrupted(Exception):
        pass

    real_insert = backup_sql.insert_batch
    inserts = 0

    async def failing_insert(*args: Any) -> None:
        nonlocal inserts
        inserts += 1
        if inserts > 3:
            raise Interrupted("the database went away")
        await real_insert(*args)

    monkeypatch.setattr(backup_sql, "insert_batch", failing_insert)
    with pytest.raises(Interrupted):
        await restore(api.stores, archive, batch=10)
    monkeypatch.undo()
    assert not any((await snapshot(api.stores)).values())  # the SQL transaction rolled back
    if thesis_adapter(api.stores) is not None:  # and once half-way through writing MongoDB
        real_documents, documents = backup_separate.insert_documents, 0

        async def failing_documents(*args: Any) -> None:
            nonlocal documents
            documents += 1
            if documents > 3:
                raise Interrupted("MongoDB went away")
            await real_documents(*args)

        monkeypatch.setattr(backup_separate, "insert_documents", failing_documents)
        with pytest.raises(Interrupted):
            await restore(api.stores, archive, batch=20)
        monkeypatch.undo()
        assert not any((await snapshot(api.stores)).values())
    await restore(api.stores, archive)
    assert await _state(api) == before


@every_wiring
async def test_backup_during_writes_has_no_dangling_records(api: Api, tmp_path: Path) -> None:
    stop = asyncio.Event()

    stores = api.stores
    anchor = (await stores.concepts.list(*first_two())).items[0]

    async def churn() -> None:
        """New concepts with a relation and a thesis each; every other one deleted again."""
        n = 0
        while not stop.is_set():
            n += 1
            made = await stores.concepts.create(
                Concept(new_id(), f"churn-{n}", f"Churn {n}", "A concept made mid-backup.")
            )
            await stores.graph.relate(
                Relation(new_id(), made.id, anchor.id, RelationType.RELATED_TO)
            )
            await stores.theses.create(Thesis(new_id(), made.id, "It churns.", Stance.AFFIRMS))
            if n % 2:
                await stores.delete_concept(made.id)

    writer = asyncio.create_task(churn())
    archive = tmp_path / "philos.tar.gz"
    try:
        await backup(api.stores, archive)
    finally:
        stop.set()
        await writer
    records = read_archive(archive).records
    ids = {c["id"] for c in records["concepts"]}
    assert all(r["source_id"] in ids and r["target_id"] in ids for r in records["relations"])
    assert all(t["concept_id"] in ids for t in records["theses"])
    await wipe(api.stores)
    await restore(api.stores, archive)


async def _rewritten(source: Path, target: Path, **manifest: Any) -> Path:
    """The archive at ``source`` with its manifest's fields changed (checksums still right)."""
    archive = read_archive(source)
    archive.schema_revision = manifest.pop("schema_revision", archive.schema_revision)
    kept = {k: v for k, v in archive.manifest.items() if k not in ("members", "schema_revision")}
    write_archive(target, archive, {**kept, **manifest})
    return target


async def test_newer_schema_or_format_is_refused(api: Api, tmp_path: Path) -> None:
    good = tmp_path / "good.tar.gz"
    await backup(api.stores, good)
    newer = await _rewritten(good, tmp_path / "newer.tar.gz", schema_revision="9999")
    unknown = await _rewritten(good, tmp_path / "unknown.tar.gz", format_version=99)
    await wipe(api.stores)
    empty = await snapshot(api.stores)
    with pytest.raises(RestoreRefused, match="newer schema"):
        await restore(api.stores, newer)
    with pytest.raises(ArchiveError, match="format version 99"):
        await restore(api.stores, unknown)
    assert await snapshot(api.stores) == empty
    await restore(api.stores, good)
    assert await snapshot(api.stores) != empty
