"""A bound on every async test and async fixture: one that hangs fails with the stacks of
every pending task.

A test stuck on an await (a server that never answers, a lock never released) would otherwise
hold the whole run until CI's own limit and print nothing useful. Here each coroutine test, and
each step of an async fixture (its setup, its teardown), runs as a task with a deadline
(``PHILOS_TEST_TIMEOUT`` seconds, default 420); past it, the task is cancelled and the test
fails (or errors, for a fixture), naming what hung and listing where every task on the loop
was waiting. The session's loop stays usable, so the rest of the run goes on. pytest-timeout
(``timeout`` in pyproject) stays the last resort for a hang outside the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from typing import Any

import pytest

TEST_TIMEOUT = float(os.environ.get("PHILOS_TEST_TIMEOUT", "420"))


def _await_chain(awaitable: object) -> list[str]:
    """Where a suspended coroutine waits, outermost first: each frame of its ``await`` chain
    (``Task.print_stack`` shows only the outermost frame of a suspended task)."""
    lines = []
    while awaitable is not None:
        frame = next(
            (
                getattr(awaitable, attr)
                for attr in ("cr_frame", "ag_frame", "gi_frame")
                if getattr(awaitable, attr, None) is not None
            ),
            None,
        )
        if frame is None:
            # A future, or an object the chain cannot be followed through (an async
            # generator's __anext__: its generator is followed as the step's own chain).
            lines.append(f"  waiting on {awaitable!r}")
            break
        code = frame.f_code
        lines.append(f'  File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}')
        awaitable = next(
            (
                getattr(awaitable, attr)
                for attr in ("cr_await", "ag_await", "gi_yieldfrom")
                if getattr(awaitable, attr, None) is not None
            ),
            None,
        )
    return lines


def pending_stacks(inner: Mapping[asyncio.Task[Any], object] | None = None) -> str:
    """Every pending task of the loop and its ``await`` chain; ``inner`` adds, for a task,
    the chain of an async generator it is stepping (which its own chain cannot reach)."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task.done():
            continue
        print(f"--- {task.get_name()}:", file=out)
        print("\n".join(_await_chain(task.get_coro())), file=out)
        if inner and task in inner:
            print("  ... stepping:", file=out)
            print("\n".join(_await_chain(inner[task])), file=out)
    return out.getvalue()


async def _bounded_wait(
    step: Awaitable[Any], name: str, seconds: float, generator: object = None
) -> Any:
    """Awaits ``step`` in this task (a fixture's context variables stay its test's), which is
    cancelled once ``seconds`` have passed; it then fails, with the stacks seen at that moment."""
    task = asyncio.current_task()
    assert task is not None
    stacks: list[str] = []

    def expire() -> None:
        stacks.append(pending_stacks({task: generator} if generator is not None else None))
        task.cancel()

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await step
    except asyncio.CancelledError:
        if not stacks:
            raise
        task.uncancel()
        pytest.fail(
            f"{name} did not finish within {seconds:.0f}s (PHILOS_TEST_TIMEOUT); "
            f"pending tasks:\n{stacks[0]}",
            pytrace=False,
        )
    finally:
        timer.cancel()


def bounded(
    test: Callable[..., Awaitable[Any]], name: str, seconds: float
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await _bounded_wait(test(*args, **kwargs), name, seconds)

    return run


def bounded_fixture(fixture: Callable[..., Any], name: str, seconds: float) -> Callable[..., Any]:
    """The async fixture with each of its steps (setup, teardown) bounded as a test is."""
    if inspect.isasyncgenfunction(fixture):

        @functools.wraps(fixture)
        async def steps(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            generator = fixture(*args, **kwargs)
            value = await _bounded_wait(
                generator.__anext__(), f"{name} (setup)", seconds, generator
            )
            yield value
            try:
                await _bounded_wait(generator.__anext__(), f"{name} (teardown)", seconds, generator)
            except StopAsyncIteration:
                return
            raise ValueError(f"{name} yields more than once")

        return steps

    @functools.wraps(fixture)
    async def setup(*args: Any, **kwargs: Any) -> Any:
        return await _bounded_wait(fixture(*args, **kwargs), f"{name} (setup)", seconds)

    return setup


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """Outermost, so pytest-asyncio runs the bounded function in its loop."""
    fixture = fixturedef.func
    if not (inspect.iscoroutinefunction(fixture) or inspect.isasyncgenfunction(fixture)):
        return (yield)
    name = f"fixture {fixturedef.argname!r} of {request.node.nodeid}"
    fixturedef.func = bounded_fixture(fixture, name, TEST_TIMEOUT)  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = fixture  # type: ignore[misc]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        test = getattr(item, "obj", None)
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(test):
            item.obj = bounded(test, item.nodeid, TEST_TIMEOUT)
