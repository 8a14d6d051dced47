"""Data versions: one counter per store in the cache port, bumped after every write to it.
The response cache stamps each entry with them (see ``gateway/response_cache.py``)."""

from __future__ import annotations

from philos.datasources.ports import Cache

STORES = ("concepts", "graph", "theses", "users")


class DataVersions:
    """One counter per store in the cache port; ``bump`` after every write."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def bump(self, *stores: str) -> None:
        for store in stores:
            await self.cache.incr(f"dv:{store}")

    async def current(self) -> dict[str, str]:
        found = await self.cache.get_many([f"dv:{s}" for s in STORES])
        return {s: found.get(f"dv:{s}", b"0").decode() for s in STORES}
