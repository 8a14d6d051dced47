"""``within``: a bounded wait that a call ignoring cancellation cannot stretch."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import strategies as st

from philos.timeouts import SLICE_SECONDS, STALL_SECONDS, within
from tests.security.documents import drawn


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


# (timeout, when the loop stalls, for how long), in seconds.
# The stall starts before the call can have finished (it needs 0.3 of its timeout, at least
# 0.09 s), and the call has most of its timeout to spare, so a busy machine's own delays do
# not decide the outcome.
stalls = st.tuples(
    st.sampled_from([0.3, 0.5]),
    st.sampled_from([0.0, 0.03]),
    st.sampled_from([STALL_SECONDS + 0.2, STALL_SECONDS + 0.5]),
)


def _stall_at(delay: float, seconds: float) -> None:
    """Hold the event loop (as a long garbage collection or a starved CPU would)."""
    asyncio.get_running_loop().call_later(delay, time.sleep, seconds)


async def _steps(total: float) -> str:
    """A call that needs ``total`` seconds of the loop's time, in three steps."""
    for _ in range(3):
        await asyncio.sleep(total / 3)
    return "done"


async def test_a_stalled_process_does_not_time_its_calls_out() -> None:
    """Time the event loop could not run is not the call's: a call that needs less than its
    timeout is answered however long the process stalls meanwhile, unless the caller's own
    deadline (``until``) comes first; a call slower than its timeout still times out on time.
    The timeouts and the stalls are drawn."""
    for timeout, at, stall in drawn(stalls, 4):
        _stall_at(at, stall)
        assert await within(_steps(timeout * 0.3), timeout) == "done", (timeout, at, stall)
        _stall_at(at, stall)
        with pytest.raises(TimeoutError):  # the caller's deadline bounds the extra time
            await within(_steps(timeout * 0.3), timeout, until=time.monotonic() + timeout)
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # slow without any stall: the timeout holds
            await within(_steps(timeout * 3), timeout)
        assert time.monotonic() - started < timeout + SLICE_SECONDS + STALL_SECONDS
