"""Only outages and timeouts count against a store's circuit breaker.

The boundary refuses unstorable text and over-long lists before a store sees them; these tests
go past it, straight to the guarded stores, to show the guard itself holds: a value a real
driver or database refuses is the caller's ``InputRejectedError`` however often it is sent, a
call cut short by the request's own deadline counts nothing, and a real outage still opens
the breaker.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from philos.datasources.cache import MemoryCache
from philos.datasources.ports import Cache, ConceptStore, ThesisStore
from philos.datasources.resilience import Breakers, Guarded, request_deadline
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.datasources.stores import Stores
from philos.domain import (
    Concept,
    ConceptFilter,
    ConceptOrder,
    InputRejectedError,
    Page,
    Stance,
    StoreUnavailableError,
    Thesis,
    new_id,
)
from philos.metrics import REGISTRY
from tests.security.documents import drawn
from tests.sql_access import sql_db
from tests.stores import sql_breaker_state

AFFIRMS = Stance.AFFIRMS
THRESHOLD = 5  # the default PHILOS_BREAKER_THRESHOLD the session's stores use
surrogate_text = st.tuples(
    st.text(max_size=5).filter(lambda s: "\x00" not in s),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2),
).map("".join)


Call = tuple[str, Callable[[], Awaitable[Any]]]


def _text_refusals(stores: Stores, text: str) -> list[Call]:
    """The calls a driver or database refuses for one text it cannot store or compare."""
    return [
        (f"slug {text!r}", lambda: stores.concepts.get_many_by_slug([text])),
        (f"email {text!r}", lambda: stores.users.get_by_email(text)),
        (
            f"search {text!r}",
            lambda: stores.concepts.list(ConceptFilter(search=text), ConceptOrder.NAME_ASC, Page()),
        ),
    ]


def _refusals(stores: Stores) -> list[Call]:
    """Calls whose input a real driver or database refuses, one per kind of refusal."""
    texts = drawn(surrogate_text, 4)
    calls: list[Call] = []
    for text in texts:
        calls.extend(_text_refusals(stores, text))
    many_tags = tuple(f"tag-{i}" for i in range(1500))
    calls.append(
        (
            "1500 tags",
            lambda: stores.concepts.list(
                ConceptFilter(tags=many_tags), ConceptOrder.NAME_ASC, Page()
            ),
        )
    )
    return calls


async def test_refused_input_never_opens_the_breaker(stores: Stores) -> None:
    refusals = _refusals(stores)
    for _ in range(THRESHOLD + 2):  # past the threshold, with no success in between
        for what, call in refusals:
            if what == "1500 tags" and not sql_db(stores).url.startswith("sqlite"):
                assert (await call()).total == 0  # PostgreSQL answers it, and finds nothing
                continue
            with pytest.raises(InputRejectedError):  # SQLite: "Expression tree is too large"
                await call()
            assert await sql_breaker_state(stores) == "closed", what
    found = await stores.concepts.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page())
    assert found.total >= 0


class _Slow:
    """A store whose one call takes longer than any deadline in the test."""

    name = "slow"

    def __init__(self, seconds: float = 0.5) -> None:
        self.seconds = seconds

    async def get_many(self, ids: list[str]) -> dict[str, Any]:
        await asyncio.sleep(self.seconds)
        return {}


async def test_the_requests_own_deadline_counts_nothing() -> None:
    breakers = Breakers(threshold=2, reset_seconds=60)
    store: Any = Guarded(_Slow(), ConceptStore, "slow", breakers, timeout=5.0)
    for _ in range(4):
        token = request_deadline.set(time.monotonic() + 0.05)
        try:
            with pytest.raises(StoreUnavailableError):
                await store.get_many(["x"])
        finally:
            request_deadline.reset(token)
    assert await breakers.state("slow") == "closed"
    # The store's own timeout is an outage: it counts.
    timed: Any = Guarded(_Slow(), ConceptStore, "slow", breakers, timeout=0.05)
    for _ in range(2):
        with pytest.raises(StoreUnavailableError):
            await timed.get_many(["x"])
    assert await breakers.state("slow") == "opened"


async def test_an_unreachable_store_still_opens_the_breaker(unused_tcp_port: int) -> None:
    from philos.datasources.cache import RedisCache

    breakers = Breakers(threshold=2, reset_seconds=60)
    cache = RedisCache(f"redis://127.0.0.1:{unused_tcp_port}/0")
    store: Any = Guarded(cache, Cache, "redis", breakers, timeout=1.0)
    try:
        for _ in range(3):
            with pytest.raises(StoreUnavailableError):
                await store.incr("k")
    finally:
        await cache.aclose()
    assert await breakers.state("redis") == "opened"


class _Outer:
    """A store whose call waits on another store inside it (a check inside a transaction)."""

    name = "outer"

    def __init__(self, inner: Any) -> None:
        self.inner_store = inner

    async def get_many(self, ids: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = await self.inner_store.get_many(ids)
        return result


async def test_a_store_waiting_on_another_is_not_blamed_for_it() -> None:
    """The inner call gets less time than the outer one has left, so the store that hangs
    times out first and is the one that counts."""
    breakers = Breakers(threshold=2, reset_seconds=60)
    inner: Any = Guarded(_Slow(seconds=5.0), ConceptStore, "slow", breakers, timeout=5.0)
    # The inner call gets 0.75 s of the outer's 1 s: a quarter second to report back.
    outer: Any = Guarded(_Outer(inner), ConceptStore, "outer", breakers, timeout=1.0)
    for _ in range(3):
        with pytest.raises(StoreUnavailableError) as failed:
            await outer.get_many(["x"])
        assert "slow store" in failed.value.message
    assert await breakers.state("outer") == "closed"
    assert await breakers.state("slow") == "opened"


async def test_writes_queued_behind_the_sqlite_writer_count_nothing(tmp_path: Path) -> None:
    """SQLite takes one writer at a time, and writers queue for it in the process. A write
    whose time runs out in that queue never reached the store: it is refused as busy for that
    request, however many there are, and the breaker stays closed; once the writer is free the
    next write goes through at once. The bursts are drawn: concepts, and theses of one."""
    db = SqlDatabase(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
    await db.create_schema()
    breakers = Breakers(threshold=2, reset_seconds=60)
    inner = SqlConceptStore(db, owns_graph=True, owns_theses=True)
    concepts: Any = Guarded(inner, ConceptStore, "sql", breakers, timeout=0.2)
    theses: Any = Guarded(SqlThesisStore(db), ThesisStore, "sql", breakers, timeout=0.2)
    anchor = await concepts.create(Concept(id=new_id(), slug="anchor", name="A", summary="s"))
    made = itertools.count()

    async def write(kind: str) -> Any:
        n = next(made)
        if kind == "concept":
            return await concepts.create(Concept(id=new_id(), slug=f"c-{n}", name="C", summary="s"))
        thesis = Thesis(id=new_id(), concept_id=anchor.id, statement=f"Claim {n}.", stance=AFFIRMS)
        return await theses.create(thesis)

    async def hold(held: asyncio.Event, release: asyncio.Event) -> None:
        async with db.begin():
            held.set()
            await release.wait()

    try:
        for burst in drawn(st.lists(st.sampled_from(["concept", "thesis"]), min_size=3), 4):
            # Another write holds the turn past every queued one's time.
            held, release = asyncio.Event(), asyncio.Event()
            holder = asyncio.create_task(hold(held, release))
            await held.wait()
            outcomes = await asyncio.gather(
                *(write(kind) for kind in burst), return_exceptions=True
            )
            release.set()
            await holder
            for outcome in outcomes:
                assert isinstance(outcome, StoreUnavailableError), outcome
                assert "busy with other writes" in outcome.message
            assert await breakers.state("sql") == "closed", burst
            assert (await write(burst[0])).id  # the turn is free: the next write is served
    finally:
        await db.aclose()


class _Broken(MemoryCache):
    """The in-process cache with every call failing as a bug would."""

    async def get_many(self, keys: Any) -> dict[str, bytes]:
        raise RuntimeError("a bug in the cache")

    async def set_many(self, items: Any, ttl: float) -> None:
        raise RuntimeError("a bug in the cache")

    async def delete(self, keys: Any) -> None:
        raise RuntimeError("a bug in the cache")

    async def incr(self, key: str, ttl: float | None = None) -> int:
        raise RuntimeError("a bug in the cache")


_CACHE_CALLS: dict[str, Callable[[Any, list[str]], Awaitable[Any]]] = {
    "get_many": lambda c, keys: c.get_many(keys),
    "set_many": lambda c, keys: c.set_many({k: k.encode() for k in keys}, 60),
    "delete": lambda c, keys: c.delete(keys),
    "incr": lambda c, keys: c.incr(keys[0]),
}


def _errors(method: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "philos_store_errors_total", {"store": "memory-cache", "method": method}
        )
        or 0.0
    )


async def test_in_process_calls_answer_as_the_store_does_and_fail_as_outages() -> None:
    """The in-process cache runs inline: past the request's deadline it still answers what the
    cache itself answers, and a failure (a bug: no I/O can fail) is the port's fail-open
    fallback, counted as a store error and never a reason to open the breaker."""
    keys = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4, unique=True)
    cases = drawn(st.tuples(st.sampled_from(sorted(_CACHE_CALLS)), keys), 40)
    assert {method for method, _ in cases} == set(_CACHE_CALLS)
    breakers = Breakers(threshold=1, reset_seconds=60)
    plain, reference = MemoryCache(), MemoryCache()
    guarded: Any = Guarded(plain, Cache, "memory-cache", breakers, timeout=0.01, fail_open=True)
    broken: Any = Guarded(_Broken(), Cache, "memory-cache", breakers, timeout=0.01, fail_open=True)
    token = request_deadline.set(time.monotonic() - 1)  # the request is out of time
    try:
        for method, drawn_keys in cases:
            call = _CACHE_CALLS[method]
            assert await call(guarded, drawn_keys) == await call(reference, drawn_keys), method
            before = _errors(method)
            answer = await call(broken, drawn_keys)
            assert answer == {"get_many": {}, "incr": 0}.get(method), method
            assert _errors(method) == before + 1
    finally:
        request_deadline.reset(token)
    assert await breakers.state("memory-cache") == "closed"
