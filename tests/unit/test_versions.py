"""Data versions (``philos.datasources.versions``) over an in-memory cache port."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.ports import Cache
from philos.datasources.versions import STORES, DataVersions


class MemoryCache:
    """The two cache-port methods data versions use."""

    def __init__(self, entries: Mapping[str, bytes] | None = None) -> None:
        self.entries = dict(entries or {})
        self.reads = 0

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        self.reads += 1
        return {k: self.entries[k] for k in keys if k in self.entries}

    async def incr(self, key: str, ttl: float | None = None) -> int:
        value = int(self.entries.get(key, b"0")) + 1
        self.entries[key] = str(value).encode()
        return value


@given(st.lists(st.sampled_from(STORES), max_size=12))
def test_versions_count_the_bumps_of_each_store(bumps: list[str]) -> None:
    cache = MemoryCache()
    versions = DataVersions(cast(Cache, cache))

    async def run() -> tuple[dict[str, str], bytes]:
        for store in bumps:
            await versions.bump(store)
        stamp, _ = await versions.stamp_with([])
        return await versions.current(), stamp

    current, stamp = asyncio.run(run())
    assert current == {s: str(bumps.count(s)) for s in STORES}
    assert stamp == ",".join(str(bumps.count(s)) for s in STORES).encode()


@given(st.dictionaries(st.text("abc", min_size=1, max_size=3), st.binary(max_size=4), max_size=4))
def test_a_stamp_and_the_entries_come_from_one_read(entries: dict[str, bytes]) -> None:
    cache = MemoryCache(entries)
    versions = DataVersions(cast(Cache, cache))
    stamp, found = asyncio.run(versions.stamp_with([*list(entries), "missing"]))
    assert cache.reads == 1
    assert stamp == b",".join([b"0"] * len(STORES))
    assert {k: found[k] for k in entries} == entries
    assert "missing" not in found
