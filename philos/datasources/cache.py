"""The Cache port's adapters: an in-process LRU (embedded default) and Redis.

Both behave the same: byte values, a TTL per entry, batch get/set, delete, and an atomic
counter (``incr``) that later features use for data versions and rate limits.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any


class MemoryCache:
    """A bounded LRU with per-entry expiry; one per process. Counters are kept apart from the
    LRU and never evicted (the response cache's data versions must not fall back to 0)."""

    name = "memory"
    in_process = True  # no I/O: see resilience.Guarded

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        # Whole responses can be large: the LRU is bounded by their total size too.
        self.max_bytes = max_bytes
        self._bytes = 0
        self._data: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._counters: dict[str, tuple[float, int]] = {}

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._data.clear()
        self._counters.clear()
        self._bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        now = time.monotonic()
        found: dict[str, bytes] = {}
        for key in keys:
            entry = self._data.get(key)
            if entry is None:
                counter = self._counters.get(key)
                if counter is not None and (not counter[0] or counter[0] > now):
                    found[key] = str(counter[1]).encode()  # as Redis answers GET on a counter
                continue
            expires, value = entry
            if expires <= now:
                self._drop(key)
                continue
            self._data.move_to_end(key)
            found[key] = value
        return found

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        expires = time.monotonic() + ttl
        for key, value in items.items():
            if len(value) > self.max_bytes:
                self._drop(key)
                continue
            self._drop(key)
            self._data[key] = (expires, value)
            self._bytes += len(value)
        while len(self._data) > self.max_entries or self._bytes > self.max_bytes:
            _, (_, evicted) = self._data.popitem(last=False)
            self._bytes -= len(evicted)

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._drop(key)
            self._counters.pop(key, None)  # as Redis: DEL removes a counter too

    async def incr(self, key: str, ttl: float | None = None) -> int:
        now = time.monotonic()
        expires, value = self._counters.get(key, (0.0, 0))
        if expires and expires <= now:
            expires, value = 0.0, 0
        if value == 0:
            expires = now + ttl if ttl else 0.0
            if len(self._counters) > self.max_entries:  # drop the expired before growing
                self._counters = {k: v for k, v in self._counters.items() if not v[0] or v[0] > now}
        self._counters[key] = (expires, value + 1)
        return value + 1


class RedisCache:
    """The same contract on Redis, so replicas share entries and invalidations."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str = "philos:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if not keys:
            return {}
        values = await self._redis.mget([self.prefix + k for k in keys])
        return {k: v for k, v in zip(keys, values, strict=True) if v is not None}

    async def set_many(self, items: Mapping[str, bytes], ttl: float) -> None:
        if not items:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key, value in items.items():
                pipe.set(self.prefix + key, value, px=max(1, int(ttl * 1000)))
            await pipe.execute()

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            await self._redis.delete(*(self.prefix + k for k in keys))

    async def incr(self, key: str, ttl: float | None = None) -> int:
        full = self.prefix + key
        if not ttl:
            return int(await self._redis.incr(full))
        # Create the counter with its expiry first (NX: only if absent), then count: INCR keeps
        # the TTL, and MULTI makes the pair atomic.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(full, 0, px=max(1, int(ttl * 1000)), nx=True)
            pipe.incr(full)
            _, value = await pipe.execute()
        return int(value)
