"""Data versions: one counter per store in the cache port, bumped after every write to it.
The response cache stamps each entry with them (see ``gateway/response_cache.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from philos.datasources.ports import Cache

STORES = ("concepts", "graph", "theses", "users", "suggestions")
KEYS = tuple(f"dv:{s}" for s in STORES)


class DataVersions:
    """One counter per store in the cache port; ``bump`` after every write."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def bump(self, *stores: str) -> None:
        for store in stores:
            await self.cache.incr(f"dv:{store}")

    async def current(self) -> dict[str, str]:
        found = await self.cache.get_many(KEYS)
        return {s: found.get(k, b"0").decode() for s, k in zip(STORES, KEYS, strict=True)}

    async def stamp_with(self, keys: Sequence[str]) -> tuple[bytes, dict[str, bytes]]:
        """The current versions as one stamp (``b"3,0,7,1"``), and the cache entries under
        ``keys``, read together in one call (one MGET on Redis)."""
        found = await self.cache.get_many([*KEYS, *keys])
        return b",".join([found.get(k, b"0") for k in KEYS]), found
