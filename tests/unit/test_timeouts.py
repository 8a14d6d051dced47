"""``within``: a bounded wait that a call ignoring cancellation cannot stretch; ``uncancelled``:
a call that a cancel of its caller does not cut half-way."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest
from hypothesis import strategies as st
from pymongo._asyncio_lock import Condition, Lock
from pymongo.lock import _async_cond_wait

from philos.timeouts import SLICE_SECONDS, STALL_SECONDS, time_left, uncancelled, within
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


# (the call's steps in seconds, whether it ends in an error, when its caller is cancelled:
# None for never, else a delay, often one before the call can have ended).
uncancelled_cases = st.tuples(
    st.lists(st.sampled_from([0.0, 0.01, 0.03]), max_size=3),
    st.booleans(),
    st.none() | st.sampled_from([0.0, 0.005, 0.02, 0.06]),
)


async def test_an_uncancelled_call_runs_to_its_end_whenever_its_caller_leaves() -> None:
    """Whenever the caller is cancelled, the call itself never sees the cancel and ends as
    it would have; the caller leaves at once; an error nobody waits for any more is not
    reported as lost; a caller left alone gets the call's result or error."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    lost: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: lost.append(context))
    try:
        for steps, fails, cancel_at in drawn(uncancelled_cases, 40):
            case = (steps, fails, cancel_at)
            ended = asyncio.Event()
            cut: list[str] = []

            async def call() -> str:
                try:
                    for step in steps:  # noqa: B023 (run before the next case is drawn)
                        await asyncio.sleep(step)
                except asyncio.CancelledError:
                    cut.append("cancelled")  # noqa: B023
                    raise
                ended.set()  # noqa: B023
                if fails:  # noqa: B023
                    raise ValueError("bad")
                return "done"

            caller = asyncio.ensure_future(uncancelled(call()))
            if cancel_at is not None:
                await asyncio.sleep(cancel_at)
                call_pending = not ended.is_set()
                caller.cancel()
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                if call_pending:  # the caller left without waiting for the call
                    assert caller.cancelled(), case
            outcome = (await asyncio.gather(caller, return_exceptions=True))[0]
            await asyncio.wait_for(ended.wait(), 1)
            assert cut == [], case
            if not caller.cancelled():
                assert isinstance(outcome, ValueError) if fails else outcome == "done", case
            await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)
        assert lost == []
    finally:
        loop.set_exception_handler(previous)


# pymongo's server selection, as it runs on Python 3.11: under the topology's lock, a wait on
# the topology's condition through ``asyncio.wait_for``. (The wait's timeout, how much longer
# than it another task then holds the lock, how many other selections wait alongside.)
selections = st.tuples(
    st.sampled_from([0.01, 0.02]),
    st.sampled_from([0.01, 0.03]),
    st.integers(min_value=0, max_value=2),
)


async def _lock_after_a_cancelled_selection(
    wait: float, held: float, others: int, *, wrapped: bool
) -> tuple[bool, int]:
    """Whether the lock is still held once all could end, and how many selections are stuck
    waiting for it. A selection's wait times out
    while another task holds the lock, and that task cancels the selection just before it
    lets the lock go (a request's deadline landing then)."""
    before = asyncio.all_tasks()
    lock = Lock()
    condition = Condition(lock)

    async def selection() -> None:
        async with lock:
            await _async_cond_wait(condition, wait)

    def select() -> Any:
        return uncancelled(selection()) if wrapped else selection()

    cancelled = asyncio.ensure_future(select())
    waiting = [asyncio.ensure_future(select()) for _ in range(others)]
    await asyncio.sleep(0)

    async def holder() -> None:
        async with lock:
            await asyncio.sleep(wait + held)
            cancelled.cancel()

    tasks = [asyncio.ensure_future(holder()), cancelled, *waiting]
    await asyncio.wait(tasks, timeout=wait + held + 1)
    await asyncio.sleep(wait + held)  # every wrapped selection has ended on its own
    stuck = sum(not task.done() for task in tasks)  # waiting for the lock, if it leaked
    locked = lock.locked()
    # Let every task of the case end, the stuck ones and their inner waits (a condition's
    # wait takes its lock back before it ends, even when cancelled): the leaked hold is let go,
    # and then each hold they take in turn.
    for task in tasks:
        task.cancel()
    while mine := {task for task in asyncio.all_tasks() - before if not task.done()} - {
        asyncio.current_task()
    }:
        if lock.locked():
            lock.release()
        await asyncio.wait(mine, timeout=0.01)
    return locked, stuck


async def test_a_cancelled_mongo_selection_does_not_keep_the_topology_lock() -> None:
    """The schedule that wedged a MongoDB client after an outage. Cancelled directly, the
    selection leaves pymongo's topology lock held by no task, for good (the control: the
    schedule reaches the race); run through ``uncancelled``, the lock is free again."""
    for wait, held, others in drawn(selections, 8):
        case = (wait, held, others)
        locked, stuck = await _lock_after_a_cancelled_selection(wait, held, others, wrapped=False)
        assert locked and stuck == others, case
        locked, stuck = await _lock_after_a_cancelled_selection(wait, held, others, wrapped=True)
        assert not locked and stuck == 0, case


async def test_a_bounded_call_knows_the_time_it_has_left() -> None:
    """``time_left`` is a bounded call's timeout less what has passed, None outside any; a
    call made inside another has the time of whichever of the two runs out first."""
    assert time_left() is None
    for outer, inner in drawn(
        st.tuples(st.sampled_from([0.3, 0.6]), st.sampled_from([0.1, 2.0])), 4
    ):

        async def call() -> tuple[float | None, float | None]:
            first = time_left()
            await asyncio.sleep(0.05)
            return first, time_left()

        first, later = await within(call(), outer)
        assert first is not None and later is not None
        assert outer - 0.05 < first <= outer, (outer, first)
        assert later <= first - 0.05, (first, later)
        nested, _ = await within(within(call(), inner), outer)
        first_out = min(inner, outer)
        assert nested is not None and first_out - 0.05 < nested <= first_out, (inner, nested)
        assert time_left() is None
