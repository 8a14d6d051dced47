"""The federated deployment, started once per test run: the five subgraphs
(``philos serve --subgraph ...``), the real Hive Gateway in front of them, and a monolith, all on
one embedded SQLite database seeded with the corpus, so their answers can be compared.

The gateway needs ``npm ci`` in ``deploy/federation`` (``make test`` runs it); without
``node_modules`` these tests fail saying so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from philos.schema.federation import SUBGRAPHS
from tests.e2e.serve import free_port

ROOT = Path(__file__).resolve().parents[2]
FEDERATION = ROOT / "deploy" / "federation"
GATEWAY_BIN = FEDERATION / "node_modules" / ".bin" / "hive-gateway"
# The gateway's variable for each subgraph's address (gateway.config.mjs).
URL_VARIABLES = {
    "users": "USER_SERVICE_URL",
    "concepts": "CONCEPT_SERVICE_URL",
    "graph": "GRAPH_SERVICE_URL",
    "theses": "THESIS_SERVICE_URL",
    "ai": "CLAUDE_SERVICE_URL",
}
START_TIMEOUT = 120.0


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    url: str
    ready_path: str = "/ready"
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=FEDERATION
            )

    def wait_ready(self, deadline: float) -> None:
        assert self.proc is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        pytest.fail(f"{self.name} did not get ready:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Federation:
    gateway: Process
    monolith: Process
    subgraphs: dict[str, Process] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return self.gateway.url + "/graphql"

    @property
    def monolith_url(self) -> str:
        return self.monolith.url + "/graphql"


def _python_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"}
        and not k.startswith("PHILOS_")
    }
    env.update(
        PHILOS_DATA_DIR=str(data_dir),
        PHILOS_SEED_ON_START="false",
        # Each process has its own in-process caches; with no Redis to share them, a write
        # in one subgraph could not invalidate another's.
        PHILOS_RESPONSE_CACHE_TTL="0",
        PHILOS_CACHE_TTL="0",
        PHILOS_RATE_LIMIT_IP="0",
        PHILOS_RATE_LIMIT_USER="0",
        PHILOS_LOG_LEVEL="INFO",  # access lines carry the request id the gateway forwarded
    )
    return env


def _prepare(data_dir: Path, env: dict[str, str]) -> None:
    """Seed the database and make the signing secret once, before the processes share them."""
    subprocess.run(
        [sys.executable, "-m", "philos", "seed"], env=env, check=True, capture_output=True
    )
    code = "from philos.config import get_settings; from philos.tokens import load_secret; "
    code += "load_secret(get_settings())"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert (data_dir / "jwt_secret").exists()


def subgraph_process(name: str, data_dir: Path, env: dict[str, str]) -> Process:
    port = free_port()
    return Process(
        name=f"subgraph {name}",
        args=[sys.executable, "-m", "philos", "serve", "--subgraph", name, "--port", str(port)],
        env=env,
        log=data_dir / f"{name}.log",
        url=f"http://127.0.0.1:{port}",
    )


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    if not GATEWAY_BIN.exists():
        pytest.fail("the gateway is not installed: run `npm ci` in deploy/federation")
    data_dir = tmp_path_factory.mktemp("federation")
    env = _python_env(data_dir)
    _prepare(data_dir, env)
    subgraphs = {name: subgraph_process(name, data_dir, env) for name in SUBGRAPHS}
    port = free_port()
    mono_port = free_port()
    monolith = Process(
        name="monolith",
        args=[sys.executable, "-m", "philos", "serve", "--port", str(mono_port)],
        env=env,
        log=data_dir / "monolith.log",
        url=f"http://127.0.0.1:{mono_port}",
    )
    gateway_env = {
        k: v for k, v in os.environ.items() if not k.startswith("PHILOS_") and k != "NODE_OPTIONS"
    }
    gateway_env.update({URL_VARIABLES[n]: p.url + "/graphql" for n, p in subgraphs.items()})
    gateway = Process(
        name="gateway",
        args=[
            str(GATEWAY_BIN),
            "supergraph",
            "--config-path",
            str(FEDERATION / "gateway.config.mjs"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=gateway_env,
        log=data_dir / "gateway.log",
        url=f"http://127.0.0.1:{port}",
    )
    found = Federation(gateway=gateway, monolith=monolith, subgraphs=subgraphs)
    everything = [*subgraphs.values(), monolith, gateway]
    try:
        for process in everything:
            process.start()
        deadline = time.monotonic() + START_TIMEOUT
        for process in everything:
            process.wait_ready(deadline)
        yield found
    finally:
        for process in reversed(everything):
            process.stop()
