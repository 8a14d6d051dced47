"""Bounded waits that do not depend on the awaited call honouring cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def within(call: Awaitable[T], seconds: float) -> T:
    """The call's result, or ``TimeoutError`` once ``seconds`` have passed.

    ``asyncio.wait_for`` cancels a call that is too slow and then waits for it to finish; a
    driver that is slow to honour the cancellation (a socket to a server that stopped
    answering) holds the caller for as long as it likes. Here the call is cancelled and left
    to end on its own. The call also runs to its end if the caller is cancelled: graphql-core
    cancels the siblings of a failed non-null field, and a store call cut half-way (say, while
    its connection opens) would never give its connection back. Its result is then dropped.
    """
    task = asyncio.ensure_future(call)
    task.add_done_callback(_consume)
    done, _ = await asyncio.wait({task}, timeout=max(0.0, seconds))
    if not done:
        task.cancel()
        raise TimeoutError
    return task.result()


def _consume(task: asyncio.Future[Any]) -> None:
    # Fetch the outcome of a call nobody waits for any more, so it is not reported as lost.
    if not task.cancelled():
        task.exception()
