"""Limits on AI use: a per-process cap on calls in flight, and a quota per caller and window.

The cap protects the process and the provider account from bursts; the quota keeps one caller
from spending the account's budget. Both answer "later" (``LlmRateLimited``) rather than fail.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, TypeVar

from philos.datasources.llm import LLM, LlmAnswer, StructuredOutput
from philos.datasources.ports import Cache
from philos.errors import (
    Busy as Busy,
)
from philos.errors import (
    QuotaExceeded as QuotaExceeded,
)

T = TypeVar("T")
BUSY_RETRY_AFTER_SECONDS = 5


class BoundedLLM:
    """An LLM that lets at most ``max_concurrency`` calls run at once in this process; a call
    waits up to ``queue_timeout`` seconds for a slot, then gives up with ``Busy``."""

    def __init__(self, inner: LLM, max_concurrency: int, queue_timeout: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(max_concurrency)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    async def complete(
        self, *, system: str, user: str, output: StructuredOutput[T], max_tokens: int
    ) -> LlmAnswer[T]:
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise Busy(
                "Too many AI requests are running on this server right now.",
                retry_after=BUSY_RETRY_AFTER_SECONDS,
            ) from None
        try:
            return await self.inner.complete(
                system=system, user=user, output=output, max_tokens=max_tokens
            )
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def take_quota(cache: Cache, caller: str, quota: int, window: int) -> None:
    """Count one request for ``caller`` in the current fixed window; raise ``QuotaExceeded``
    past ``quota``. A quota of 0 means no quota.

    The counter key names the window, so a new window starts from zero; each counter expires
    with its window.
    """
    if quota <= 0:
        return
    now = time.time()
    index = int(now // window)
    used = await cache.incr(f"ai-quota:{caller}:{window}:{index}", ttl=window)
    if used > quota:
        retry_after = max(1, math.ceil((index + 1) * window - now))
        raise QuotaExceeded(
            f"You have used your {quota} AI requests for this period; "
            f"more are available in {retry_after} s.",
            retry_after=retry_after,
        )
