"""Bounded waits that do not depend on the awaited call honouring cancellation."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class TurnNotReachedError(TimeoutError):
    """The time ran out while the call was still waiting its turn in this process (for the
    SQLite writer, say): nothing was asked of the store yet, so it says nothing about it."""


class _Bounded:
    """The call ``within`` is running in this task: whether it is queued right now, when its
    time runs out (a ``time.monotonic()`` instant, later after a stall), and the bounded call
    it runs inside, if any."""

    __slots__ = ("due", "outer", "queued")

    def __init__(self, due: float, outer: _Bounded | None) -> None:
        self.due = due
        self.outer = outer
        self.queued = 0


_bounded: contextvars.ContextVar[_Bounded | None] = contextvars.ContextVar(
    "philos_bounded_call", default=None
)


@contextmanager
def waiting_turn() -> Iterator[None]:
    """Marks the innermost bounded call as waiting for an in-process turn while the block
    runs; if its time runs out meanwhile, ``within`` raises ``TurnNotReachedError``."""
    bounded = _bounded.get()
    if bounded is None:
        yield
        return
    bounded.queued += 1
    try:
        yield
    finally:
        bounded.queued -= 1


def time_left() -> float | None:
    """Seconds until the bounded calls (``within``) this context runs in are given up on (the
    first of them to run out), None outside any: for a store that ends an operation itself
    rather than be cancelled."""
    bounded = _bounded.get()
    if bounded is None:
        return None
    due = bounded.due
    while (bounded := bounded.outer) is not None:
        due = min(due, bounded.due)
    return max(0.0, due - time.monotonic())


# A call's wait is watched in slices of this length. A slice that ends more than
# ``STALL_SECONDS`` late says the event loop itself was held up meanwhile (a long garbage
# collection, a process that got no CPU), not that the awaited call was slow. The bar is high
# on purpose: a busy machine delays timers by tens of milliseconds all the time, and a dead
# store must still be given up on after its timeout.
SLICE_SECONDS = 0.05
STALL_SECONDS = 0.5


async def within(call: Awaitable[T], seconds: float, *, until: float | None = None) -> T:
    """The call's result, or ``TimeoutError`` once ``seconds`` have passed
    (``TurnNotReachedError`` if the call was still waiting its turn, see ``waiting_turn``).

    Time during which this process could not run does not count against the call: each time
    the event loop is found to have been held up (a slice of the wait ended late), the call's
    time is extended by as much, up to ``until`` (a ``time.monotonic()`` instant: the caller's
    own deadline). A call that only looked slow because the whole process stalled is then not
    abandoned, and a store is not blamed for it.

    ``asyncio.wait_for`` cancels a call that is too slow and then waits for it to finish; a
    driver that is slow to honour the cancellation (a socket to a server that stopped
    answering) holds the caller for as long as it likes. Here the call is cancelled and left
    to end on its own. The call also runs to its end if the caller is cancelled: graphql-core
    cancels the siblings of a failed non-null field, and a store call cut half-way (say, while
    its connection opens) would never give its connection back. Its result is then dropped.
    """
    now = time.monotonic()
    due = now + max(0.0, seconds)
    bounded = _Bounded(due, _bounded.get())
    token = _bounded.set(bounded)
    try:  # the task copies the context, and with it ``bounded``
        task = asyncio.ensure_future(call)
    finally:
        _bounded.reset(token)
    task.add_done_callback(_consume)
    while True:
        step = min(max(0.0, due - now), SLICE_SECONDS)
        done, _ = await asyncio.wait({task}, timeout=step)
        if done:
            return task.result()
        expected, now = now + step, time.monotonic()
        if now - expected > STALL_SECONDS:  # the loop was held up: not the call's time
            due += now - expected
            if until is not None:
                due = min(due, until)
            bounded.due = due
        if now >= due:
            break
    queued = bounded.queued > 0
    task.cancel()
    raise TurnNotReachedError if queued else TimeoutError


# What ``uncancelled`` runs: the loop holds its tasks only weakly, and a call whose caller left
# must not be collected half-way.
_RUNNING: set[asyncio.Future[Any]] = set()


async def uncancelled(call: Awaitable[T]) -> T:
    """The call's result; a cancel of the caller stops the caller only. The call runs on to
    its own end (its outcome is then dropped), so it must be bounded by timeouts of its own.

    For a driver whose internals do not survive being cancelled half-way: pymongo's server
    selection waits on its topology's condition through ``asyncio.wait_for``, and on Python
    3.11 a cancel that lands while ``wait_for`` is cancelling that wait leaves the topology's
    lock held for good, after which every operation of the client, and its ``close``, waits
    forever."""
    task = asyncio.ensure_future(call)
    _RUNNING.add(task)
    task.add_done_callback(_settled)
    return await asyncio.shield(task)


def _settled(task: asyncio.Future[Any]) -> None:
    _RUNNING.discard(task)
    _consume(task)


def _consume(task: asyncio.Future[Any]) -> None:
    # Fetch the outcome of a call nobody waits for any more, so it is not reported as lost.
    if not task.cancelled():
        task.exception()
