"""Cache contract on the in-process LRU and on Redis, and the read-through stores on top."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from philos.bootstrap import build_stores
from philos.datasources.cache import MemoryCache, RedisCache
from philos.datasources.cached import CachedConceptStore, CachedThesisStore
from philos.datasources.ports import Cache
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.domain import Argument, Concept, Polarity, Stance, Thesis, new_id
from tests.settings import settings_for


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache(max_entries=3)
        return
    url: str = request.getfixturevalue("redis_url")
    store = RedisCache(url, prefix=f"test-{new_id()}:")
    yield store
    await store.aclose()


async def test_get_set_delete(cache: Cache) -> None:
    assert await cache.get_many(["a", "b"]) == {}
    await cache.set_many({"a": b"1", "b": b"2"}, ttl=30)
    assert await cache.get_many(["a", "b", "c"]) == {"a": b"1", "b": b"2"}
    await cache.delete(["a", "nope"])
    assert await cache.get_many(["a", "b"]) == {"b": b"2"}


async def test_entries_expire(cache: Cache) -> None:
    await cache.set_many({"short": b"x"}, ttl=0.05)
    await cache.set_many({"long": b"y"}, ttl=30)
    await asyncio.sleep(0.15)
    assert await cache.get_many(["short", "long"]) == {"long": b"y"}


async def test_counter_is_atomic(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.incr("hits") for _ in range(20)))
    assert sorted(results) == list(range(1, 21))


async def test_counters_read_back_as_bytes(cache: Cache) -> None:
    await cache.incr("version")
    await cache.incr("version")
    assert await cache.get_many(["version"]) == {"version": b"2"}


async def test_a_deleted_counter_starts_over(cache: Cache) -> None:
    await cache.incr("failures", ttl=30)
    await cache.incr("failures", ttl=30)
    await cache.delete(["failures"])
    assert await cache.get_many(["failures"]) == {}
    assert await cache.incr("failures", ttl=30) == 1


async def test_windowed_counter_expires(cache: Cache) -> None:
    assert [await cache.incr("window", ttl=0.1) for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(0.2)
    assert await cache.incr("window", ttl=0.1) == 1


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2)
    await cache.set_many({"a": b"1", "b": b"2"}, ttl=30)
    await cache.get_many(["a"])
    await cache.set_many({"c": b"3"}, ttl=30)
    assert await cache.get_many(["a", "b", "c"]) == {"a": b"1", "c": b"3"}


async def test_memory_cache_is_bounded_by_total_size() -> None:
    cache = MemoryCache(max_entries=100, max_bytes=10)
    await cache.set_many({"a": b"1234", "b": b"5678"}, ttl=30)
    await cache.get_many(["a"])
    await cache.set_many({"c": b"9012"}, ttl=30)  # 12 bytes: the least recently used goes
    assert await cache.get_many(["a", "b", "c"]) == {"a": b"1234", "c": b"9012"}
    await cache.set_many({"a": b"12"}, ttl=30)  # replacing counts the new size only
    await cache.set_many({"d": b"3456"}, ttl=30)
    assert await cache.get_many(["a", "c", "d"]) == {"a": b"12", "c": b"9012", "d": b"3456"}
    await cache.set_many({"huge": b"x" * 11}, ttl=30)  # larger than the whole cache
    assert await cache.get_many(["huge", "a"]) == {"a": b"12"}
    await cache.delete(["a", "c", "d"])
    await cache.set_many({"e": b"1234567890"}, ttl=30)
    assert await cache.get_many(["e"]) == {"e": b"1234567890"}


async def test_read_through_stores_serve_hits_and_forget_on_write(
    cache: Cache, tmp_path: Path
) -> None:
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    await db.create_schema()
    concepts = CachedConceptStore(SqlConceptStore(db, owns_graph=True, owns_theses=True), cache, 30)
    theses = CachedThesisStore(SqlThesisStore(db), cache, 30)
    c = Concept(id=new_id(), slug="logos", name="Logos", summary="Reason.")
    await concepts.create(c)
    t = Thesis(id=new_id(), concept_id=c.id, statement="Logos orders all.", stance=Stance.AFFIRMS)
    await theses.create(t)
    assert (await concepts.get_many([c.id]))[c.id] == c
    assert (await theses.get_many([t.id]))[t.id] == t
    # Served from the cache now: the stores underneath would fail if asked.
    real_concepts, real_theses = concepts.inner, theses.inner
    concepts.inner = theses.inner = Unreachable()  # type: ignore[assignment]
    assert (await concepts.get_many([c.id]))[c.id] == c
    assert (await theses.get_many([t.id]))[t.id] == t
    with pytest.raises(ConnectionError):
        await concepts.get_many_by_slug(["logos"])  # never cached: goes to the store
    concepts.inner, theses.inner = real_concepts, real_theses
    renamed = await concepts.update(
        Concept(id=c.id, slug="logos-2", name="Logos II", summary="Reason."), 1
    )
    assert (await concepts.get_many([c.id]))[c.id] == renamed
    assert await concepts.get_many_by_slug(["logos"]) == {}
    assert (await concepts.get_many_by_slug(["logos-2"]))["logos-2"].name == "Logos II"
    changed = await theses.add_argument(t.id, Argument(new_id(), Polarity.PRO, "It is said."))
    assert (await theses.get_many([t.id]))[t.id] == changed
    await theses.remove_concept(c.id)
    assert await theses.get_many([t.id]) == {}
    await db.aclose()


class Unreachable:
    name = "unreachable"

    def __getattr__(self, attr: str) -> object:
        async def fail(*_args: object, **_kwargs: object) -> object:
            raise ConnectionError(f"store asked for {attr}")

        return fail


async def test_the_embedded_cache_holds_what_its_setting_allows(tmp_path: Path) -> None:
    """``PHILOS_MEMORY_CACHE_BYTES`` bounds the cache the app builds without Redis."""
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", tmp_path, PHILOS_MEMORY_CACHE_BYTES=4096
    )
    stores = await build_stores(settings)
    try:
        await stores.cache.set_many({"a": b"x" * 1500, "b": b"y" * 1500}, ttl=30)
        assert set(await stores.cache.get_many(["a", "b"])) == {"a", "b"}
        await stores.cache.set_many({"c": b"z" * 1500}, ttl=30)  # 4500 bytes: "a" goes
        assert set(await stores.cache.get_many(["a", "b", "c"])) == {"b", "c"}
    finally:
        await stores.aclose()
