"""The watchdog (tests/watchdog.py): a hung test or async fixture step fails on its own, naming
what hung and where each task waited, and the tests after it still run on the same loop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]

INNER = """
import asyncio

import pytest


async def forever(what: str) -> None:
    await asyncio.Event().wait()


@pytest.fixture
async def stuck_setup():
    await forever("setup")
    yield


@pytest.fixture
async def stuck_teardown():
    yield 1
    await forever("teardown")


@pytest.fixture
async def stuck_coroutine():
    await forever("coroutine")


async def test_hung_setup(stuck_setup):
    pass


async def test_hung_teardown(stuck_teardown):
    assert stuck_teardown == 1


async def test_hung_coroutine_fixture(stuck_coroutine):
    pass


async def test_hung_test():
    await forever("test")


async def test_after_them_all():
    await asyncio.sleep(0)
"""


def test_every_hang_is_reported_and_the_run_goes_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHILOS_TEST_TIMEOUT", "1")
    # The inner run starts in a scratch directory: it finds ``tests.watchdog`` from here.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess(
        "-p",
        "tests.watchdog",
        "-o",
        "asyncio_mode=auto",
        "-o",
        "asyncio_default_fixture_loop_scope=session",
        "-o",
        "asyncio_default_test_loop_scope=session",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=2, failed=1, errors=3)
    out = result.stdout.str()
    for hung in (
        "fixture 'stuck_setup' of test_inner.py::test_hung_setup (setup)",
        "fixture 'stuck_teardown' of test_inner.py::test_hung_teardown (teardown)",
        "fixture 'stuck_coroutine' of test_inner.py::test_hung_coroutine_fixture (setup)",
        "test_inner.py::test_hung_test",
    ):
        assert f"{hung} did not finish within 1s" in out, hung
    # Each report lists the pending tasks, down to the await that never returned.
    assert out.count("in forever") >= 4
