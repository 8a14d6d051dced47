"""The real Apollo Client (its persisted-query link, hashed queries over GET) against a real
`philos serve`: the first client misses, registers the text over POST and gets its data; a
second client, fresh, is answered from the hash alone over GET.

Apollo Client comes from ``tests/apq/package-lock.json`` (``npm ci`` there; ``make test`` runs
it); without ``node_modules`` this test fails saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.serve import Served, start_server, stop_server

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start_server(tmp_path_factory.mktemp("apq"))
    yield server
    stop_server(server)


def run_apollo(base: str) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@apollo" / "client").is_dir():
        pytest.fail("Apollo Client is not installed: run `npm ci` in tests/apq")
    done = subprocess.run(
        [node, str(HERE / "apollo.mjs"), base],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rounds: list[dict[str, Any]] = json.loads(done.stdout)
    return rounds


def shape(request: dict[str, Any]) -> tuple[str, bool, bool, str | None]:
    return (request["method"], request["withQuery"], request["withHash"], request["code"])


def test_apollo_client_misses_registers_then_hits_over_get(served: Served) -> None:
    cold, warm = run_apollo(served)
    assert [shape(r) for r in cold["requests"]] == [
        ("GET", False, True, "PERSISTED_QUERY_NOT_FOUND"),
        ("POST", True, True, None),
    ]
    assert [shape(r) for r in warm["requests"]] == [("GET", False, True, None)]
    assert len(cold["slugs"]) == 2
    assert warm["slugs"] == cold["slugs"]
    assert all(r["status"] == 200 for r in cold["requests"] + warm["requests"])
