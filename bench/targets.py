"""The servers under test: a process serving GraphQL on a loopback port, and Philos's."""

# It starts the servers under test with command lines it builds.
# ruff: noqa: S603

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import LOOPBACK, ROOT, BenchError, post_json
from bench.options import Options
from tests.services.servers import free_port

READY_TIMEOUT = 90.0


@dataclass
class ServerUnderTest:
    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    ready_path: str
    proc: subprocess.Popen[bytes] | None = None
    #: whose query documents it answers (its own name unless it serves another's schema)
    dialect: str = ""
    #: the queries it is measured on (empty: all of them)
    queries: tuple[str, ...] = ()
    #: VmRSS of its processes (KiB) once it answered, before the first request it measures
    idle_rss_kib: int = 0
    #: the PostgreSQL role its statements are counted under (empty: the data's owner)
    db_role: str = ""
    #: processes of the stores it reads besides PostgreSQL (Neo4j, FerretDB): a run starts
    #: once they are idle too, so no request of the run before is still being answered
    store_pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """Every process that does the server's work (their CPU and memory count)."""
        return [pid for _, pid in self.processes]

    @property
    def processes(self) -> list[tuple[str, int]]:
        """The same processes, each with its part's name (the report splits the CPU)."""
        return [(self.name, self.pid)]

    @property
    def documents(self) -> str:
        return self.dialect or self.name

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        probe = json.dumps({"query": "{ __typename }"}).encode()
        while True:
            if self.proc.poll() is not None:
                raise BenchError(self._failure(f"{self.name} exited with {self.proc.returncode}"))
            try:
                answer = post_json(self.url, probe, timeout=2.0)
                if answer.get("data", {}).get("__typename") == "Query":
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise BenchError(self._failure(f"{self.name} not ready in {READY_TIMEOUT:.0f}s"))
            time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _failure(self, message: str) -> str:
        try:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            tail = "<no log>"
        return f"{message}\n--- last lines of {self.log_path} ---\n{tail}"


def _philos_env(opts: Options, database_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "PHILOS_SEED_ON_START": "false",
            "PHILOS_ENV": "production",
            "PHILOS_DATA_DIR": str(workdir / "philos-data"),
            "PHILOS_LOG_LEVEL": "WARNING",
            "JWT_SECRET": secrets.token_urlsafe(48),
            # Per-IP/per-user rate limits guard a public deployment; one load generator on
            # loopback is a single client by design (PostGraphile has no such limit).
            "PHILOS_RATE_LIMIT_IP": "0",
            "PHILOS_RATE_LIMIT_USER": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PHILOS_CACHE_TTL", None)
    env.pop("PHILOS_SUBGRAPH", None)
    for variable in ("NEO4J_URI", "MONGODB_URI", "PHILOS_MONGODB_DATABASE", "REDIS_URL"):
        env.pop(variable, None)  # the wiring is the harness's choice, not the shell's
    if opts.cache_ttl is not None:
        env["PHILOS_CACHE_TTL"] = opts.cache_ttl
    return env


def _uvicorn(port: int, app: str = "philos.bootstrap:serve_app") -> list[str]:
    return [
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "philos.gateway.serving:HeaderTimeoutProtocol",  # as ``philos serve`` runs it
        "--workers",
        "1",
        "--no-access-log",
        "--no-server-header",  # as ``philos serve`` runs it
        "--log-level",
        "warning",
    ]


def philos_server(
    opts: Options,
    database_url: str,
    workdir: Path,
    profile_out: Path | None = None,
    *,
    name: str = "philos",
    stores: dict[str, str] | None = None,
) -> ServerUnderTest:
    """Philos on ``database_url``; ``stores`` adds the settings that move relations and theses
    out of it (``NEO4J_URI``, ``MONGODB_URI``: the split wiring)."""
    port = free_port()
    env = _philos_env(opts, database_url, workdir)
    env.update(stores or {})
    app = "philos.bootstrap:serve_app" if profile_out is None else "bench.profiled_app:create_app"
    if profile_out is not None:
        env["BENCH_PROFILE_OUT"] = str(profile_out)
    cmd = ["taskset", "-c", str(opts.server_cpu), sys.executable, *_uvicorn(port, app)]
    return ServerUnderTest(
        name, cmd, env, port, workdir / f"{name}.log", "/graphql", dialect="philos"
    )


# The federated deployment (docs/federation.md): subgraph name, the gateway's variable for it.
SUBGRAPHS = {
    "users": "USER_SERVICE_URL",
    "concepts": "CONCEPT_SERVICE_URL",
    "graph": "GRAPH_SERVICE_URL",
    "theses": "THESIS_SERVICE_URL",
    "ai": "CLAUDE_SERVICE_URL",
}
FEDERATION = ROOT / "deploy" / "federation"


@dataclass
class FederatedServer(ServerUnderTest):
    """The five subgraphs (the same uvicorn stack as Philos) and the Hive Gateway in front,
    all on the server core; requests go to the gateway."""

    subgraphs: list[ServerUnderTest] = field(default_factory=list)

    @property
    def processes(self) -> list[tuple[str, int]]:
        return [*((s.name, s.pid) for s in self.subgraphs), ("gateway", self.pid)]

    def start(self) -> None:
        for subgraph in self.subgraphs:
            subgraph.start()
        super().start()

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        super().stop(sig, timeout)
        for subgraph in self.subgraphs:
            subgraph.stop(sig, timeout)


def federated_server(opts: Options, database_url: str, workdir: Path) -> FederatedServer:
    gateway = FEDERATION / "node_modules" / ".bin" / "hive-gateway"
    if not gateway.exists():
        raise BenchError("the gateway is not installed: run `npm ci` in deploy/federation")
    env = _philos_env(opts, database_url, workdir)
    taskset = ["taskset", "-c", str(opts.server_cpu)]
    subgraphs = []
    gateway_env = dict(os.environ)
    for name, variable in SUBGRAPHS.items():
        port = free_port()
        cmd = [*taskset, sys.executable, *_uvicorn(port)]
        log_path = workdir / f"subgraph-{name}.log"
        sub_env = {**env, "PHILOS_SUBGRAPH": name}
        subgraphs.append(ServerUnderTest(name, cmd, sub_env, port, log_path, "/graphql"))
        gateway_env[variable] = f"http://{LOOPBACK}:{port}/graphql"
    port = free_port()
    cmd = [
        *taskset,
        str(gateway),
        "supergraph",
        "--config-path",
        str(FEDERATION / "gateway.config.mjs"),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    # Like Philos's, the gateway's per-client limits stay off: one load generator.
    gateway_env.update({"NODE_ENV": "production", "PHILOS_ENV": "production"})
    return FederatedServer(
        "federated",
        cmd,
        gateway_env,
        port,
        workdir / "gateway.log",
        "/graphql",
        dialect="philos",
        subgraphs=subgraphs,
    )
