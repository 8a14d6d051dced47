"""`philos serve` on the embedded default, as `make run` starts it: a real uvicorn process on a
free port, an empty data directory, the corpus seeded at start-up, and the README's example
queries answered over TCP."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from philos.seed.loader import read_corpus
from tests.e2e.serve import Served, start_server, stop_server

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("embedded")
    served = start_server(data_dir)
    assert (data_dir / "philos.db").exists()
    yield served
    stop_server(served)


def readme_queries() -> list[str]:
    text = README.read_text("utf-8")
    return re.findall(r"```graphql\n(.*?)```", text, flags=re.S)


def test_readme_has_five_example_queries() -> None:
    assert len(readme_queries()) >= 5


@pytest.mark.parametrize("index", range(5))
def test_readme_example_queries_answer(server: Served, index: int) -> None:
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


def test_json_logs_carry_the_request_id(server: Served) -> None:
    response = httpx.post(
        f"{server}/graphql",
        json={"query": "query LogMe { concepts(first: 1) { totalCount } }"},
        headers={"x-request-id": "log-test-7"},
        timeout=10,
    )
    assert response.headers["x-request-id"] == "log-test-7"
    deadline = time.monotonic() + 5
    line: dict[str, object] | None = None
    while line is None and time.monotonic() < deadline:
        for raw in server.log.read_text().splitlines():
            entry = json.loads(raw)  # every line is one JSON object
            if (
                entry.get("event") == "graphql.operation"
                and entry.get("request_id") == "log-test-7"
            ):
                line = entry
        time.sleep(0.1)
    assert line is not None
    assert line["operation"] == "LogMe" and line["outcome"] == "ok"
    assert line["level"] == "info" and line["logger"] == "philos.access"
    assert isinstance(line["duration_ms"], float) and "timestamp" in line


def test_sigterm_drains_in_flight_requests(tmp_path: Path) -> None:
    """A request whose body is still arriving when SIGTERM comes is answered, not dropped."""
    served = start_server(tmp_path, "--graceful-timeout", "10")
    try:
        body = json.dumps({"query": "{ concepts(first: 3) { totalCount } }"}).encode()
        port = int(served.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
            head = (
                f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            sock.sendall(head + body[:10])
            time.sleep(0.3)
            served.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert served.proc.poll() is None  # still draining
            sock.sendall(body[10:])
            answer = b""
            while b"totalCount" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        assert f'"totalCount":{len(read_corpus().concepts)}'.encode() in answer
        # uvicorn re-raises the signal once drained, so the exit reads as "terminated".
        assert served.proc.wait(timeout=15) in (0, -signal.SIGTERM)
        # New connections are refused once it is shutting down.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{served}/health", timeout=2)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
        served.proc.wait(timeout=15)
