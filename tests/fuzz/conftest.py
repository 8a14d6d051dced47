"""Fixtures for the fuzz tests: a real server (``tests/fuzz/server.py``) per module, or one of
a test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.server import FuzzServer, fuzz_settings, require_sqlite


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    """One server per test module, shared by its tests."""
    require_sqlite()
    server = FuzzServer(fuzz_settings(tmp_path_factory.mktemp("fuzz")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[FuzzServer]:
    """A server of its own, with the default settings, for one test."""
    require_sqlite()
    server = FuzzServer(fuzz_settings(tmp_path))
    server.start()
    yield server
    server.stop()
