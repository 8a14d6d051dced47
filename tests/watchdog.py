"""A bound on every async test: one that hangs fails with the stacks of every pending task.

A test stuck on an await (a server that never answers, a lock never released) would otherwise
hold the whole run until CI's own limit and print nothing useful. Here each coroutine test runs
as a task with a deadline (``PHILOS_TEST_TIMEOUT`` seconds, default 600); past it, the task is
cancelled and the test fails, listing where every task on the loop was waiting. The session's
loop stays usable, so the rest of the run goes on. pytest-timeout (``timeout`` in pyproject)
stays the last resort for a hang outside the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

TEST_TIMEOUT = float(os.environ.get("PHILOS_TEST_TIMEOUT", "600"))


def pending_stacks(skip: asyncio.Task[Any] | None = None) -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is skip or task.done():
            continue
        print(f"--- {task.get_name()}: {task.get_coro()!r}", file=out)
        task.print_stack(limit=12, file=out)
    return out.getvalue()


def bounded(
    test: Callable[..., Awaitable[Any]], name: str, seconds: float
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        task = asyncio.ensure_future(test(*args, **kwargs))
        done, _ = await asyncio.wait({task}, timeout=seconds)
        if done:
            return task.result()
        stacks = pending_stacks()
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        pytest.fail(
            f"{name} did not finish within {seconds:.0f}s (PHILOS_TEST_TIMEOUT); "
            f"pending tasks:\n{stacks}",
            pytrace=False,
        )

    return run


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "obj", None)
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(test):
            item.obj = bounded(test, item.nodeid, TEST_TIMEOUT)
