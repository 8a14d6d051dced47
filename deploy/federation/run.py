"""``make federation``: the federated deployment on the embedded default, on this machine.

Seeds the embedded database once, starts the five subgraphs (``philos serve --subgraph``) on
the seed's ports, then the gateway at http://127.0.0.1:4000/graphql, and stops them all on
Ctrl-C. Run it with the project's Python (``.venv/bin/python``); ``HOST`` changes the address
everything listens on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBGRAPHS = [
    ("users", "user-service", "USER_SERVICE_URL", 4001),
    ("concepts", "concept-service", "CONCEPT_SERVICE_URL", 4002),
    ("graph", "graph-service", "GRAPH_SERVICE_URL", 4003),
    ("theses", "thesis-service", "THESIS_SERVICE_URL", 4004),
    ("ai", "claude-service", "CLAUDE_SERVICE_URL", 4005),
]
GATEWAY_PORT = 4000
START_TIMEOUT = 120.0
INTERRUPTED: list[int] = []  # the signals that asked us to stop


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(name: str, url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if INTERRUPTED:
            raise SystemExit(0)
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with code {proc.returncode}")
        if ready(url):
            return
        time.sleep(0.3)
    raise SystemExit(f"{name} did not get ready at {url}")


def main() -> int:
    # Ctrl-C reaches the whole process group: the children stop on their own, and so do we.
    signal.signal(signal.SIGINT, lambda signum, _frame: INTERRUPTED.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _frame: INTERRUPTED.append(signum))
    host = os.environ.get("HOST", "127.0.0.1")
    env = dict(os.environ)
    env["PHILOS_SEED_ON_START"] = "false"  # seeded once below, not by five processes at once
    if not env.get("REDIS_URL"):
        # In-process caches are per process: without Redis to share them, a write in one
        # subgraph could not invalidate the others' copies.
        env.setdefault("PHILOS_RESPONSE_CACHE_TTL", "0")
        env.setdefault("PHILOS_CACHE_TTL", "0")
    # Every request reaches a subgraph from the gateway's address: the gateway limits clients.
    env.setdefault("PHILOS_RATE_LIMIT_IP", "0")
    python = sys.executable
    subprocess.run([python, "-m", "philos", "seed"], env=env, check=True)
    secret = "from philos.config import get_settings as s; from philos.tokens import load_secret"
    subprocess.run([python, "-c", f"{secret}; load_secret(s())"], env=env, check=True)

    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for name, service, _variable, port in SUBGRAPHS:
            args = ["serve", "--subgraph", name, "--host", host, "--port", str(port)]
            procs.append((service, subprocess.Popen([python, "-m", "philos", *args], env=env)))
        deadline = time.monotonic() + START_TIMEOUT
        for (service, proc), (*_, port) in zip(procs, SUBGRAPHS, strict=True):
            wait_ready(service, f"http://127.0.0.1:{port}/ready", proc, deadline)
        gateway_env = dict(os.environ)
        for _name, _service, variable, port in SUBGRAPHS:
            gateway_env.setdefault(variable, f"http://127.0.0.1:{port}/graphql")
        gateway = subprocess.Popen(
            [
                str(HERE / "node_modules" / ".bin" / "hive-gateway"),
                "supergraph",
                "--config-path",
                str(HERE / "gateway.config.mjs"),
                "--host",
                host,
                "--port",
                str(GATEWAY_PORT),
            ],
            env=gateway_env,
        )
        procs.append(("api-gateway", gateway))
        wait_ready("api-gateway", f"http://127.0.0.1:{GATEWAY_PORT}/ready", gateway, deadline)
        print(f"gateway: http://{host}:{GATEWAY_PORT}/graphql  (Ctrl-C stops everything)")
        while not INTERRUPTED and all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        if INTERRUPTED:
            return 0
        stopped = [service for service, proc in procs if proc.poll() is not None]
        print(f"stopped: {', '.join(stopped)}; stopping the rest", file=sys.stderr)
        return 1
    finally:
        for _service, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _service, proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
