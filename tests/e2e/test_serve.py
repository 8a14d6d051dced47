"""`philos serve` on the embedded default, as `make run` starts it: a real uvicorn process on a
free port, an empty data directory, the corpus seeded at start-up, and the README's example
queries answered over TCP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("embedded")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"}
    }
    env["PHILOS_DATA_DIR"] = str(data_dir)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "philos", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    else:
        proc.kill()
    if proc.poll() is not None:
        pytest.fail("philos serve exited:\n" + (data_dir / "server.log").read_text()[-3000:])
    assert (data_dir / "philos.db").exists()
    yield base
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()


def readme_queries() -> list[str]:
    text = README.read_text("utf-8")
    return re.findall(r"```graphql\n(.*?)```", text, flags=re.S)


def test_readme_has_five_example_queries() -> None:
    assert len(readme_queries()) >= 5


@pytest.mark.parametrize("index", range(5))
def test_readme_example_queries_answer(server: str, index: int) -> None:
    query = readme_queries()[index]
    response = httpx.post(f"{server}/graphql", json={"query": query}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert all(value is not None for value in body["data"].values()), body


def test_seeded_corpus_is_served(server: str) -> None:
    response = httpx.post(
        f"{server}/graphql",
        json={
            "query": '{ concepts { totalCount } theses { totalCount } c: concept(slug: "dasein") { name relations { type } } }'
        },
        timeout=10,
    )
    data = response.json()["data"]
    assert data["concepts"]["totalCount"] >= 80
    assert data["theses"]["totalCount"] >= 120
    assert data["c"]["name"] and data["c"]["relations"]


def test_graphiql_and_metrics_over_tcp(server: str) -> None:
    page = httpx.get(f"{server}/graphql", headers={"accept": "text/html"}, timeout=5)
    assert "graphiql" in page.text.lower()
    metrics = httpx.get(f"{server}/metrics", timeout=5)
    assert "philos_graphql_requests_total" in metrics.text


AUDIT = Path(__file__).resolve().parents[1] / "http" / "audit"


def test_graphql_over_http_audit(server: str) -> None:
    """The graphql-http server audit (npm): every MUST and SHOULD, 0 errors and 0 warnings."""
    if not (AUDIT / "node_modules" / "graphql-http").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True, timeout=300)
    out = subprocess.run(
        ["node", "audit.mjs", f"{server}/graphql"],
        cwd=AUDIT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    results = json.loads(out)
    assert len(results) >= 50
    failing = [
        f"{r['status']}: {r['name']} ({r['reason']})" for r in results if r["status"] != "ok"
    ]
    assert failing == []
