"""``within``: a bounded wait that a call ignoring cancellation cannot stretch."""

from __future__ import annotations

import asyncio
import time

import pytest

from philos.timeouts import within


async def stubborn(release: asyncio.Event) -> str:
    """A call that swallows cancellation until released, as a wedged driver might."""
    while True:
        try:
            await release.wait()
            return "late"
        except asyncio.CancelledError:
            continue


async def test_gives_up_on_time_even_when_the_call_ignores_cancellation() -> None:
    release = asyncio.Event()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await within(stubborn(release), 0.05)
    assert time.monotonic() - started < 1.0
    release.set()  # let the abandoned call end
    await asyncio.sleep(0)


async def test_answers_and_raises_like_the_call() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ValueError("bad")

    assert await within(answer(), 1) == 42
    with pytest.raises(ValueError, match="bad"):
        await within(fail(), 1)


async def test_a_cancelled_caller_leaves_the_call_to_finish() -> None:
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.05)
        finished.set()

    caller = asyncio.ensure_future(within(slow(), 5))
    await asyncio.sleep(0.01)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.wait_for(finished.wait(), 1)
