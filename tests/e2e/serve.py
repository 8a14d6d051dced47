"""A real `philos serve` process on the embedded default: started on a free port with its own
data directory and log file, and stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Served(str):
    """The base URL of a running `philos serve`, with its process and log file."""

    proc: subprocess.Popen[bytes]
    log: Path


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    port = free_port()
    extra = env or {}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL", "ANTHROPIC_API_KEY"}
    }
    env["PHILOS_DATA_DIR"] = str(data_dir)
    env.update(extra)
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "philos", "serve", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
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
        pytest.fail("philos serve exited:\n" + log_path.read_text()[-3000:])
    served = Served(base)
    served.proc = proc
    served.log = log_path
    return served


def stop_server(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)
    try:
        served.proc.wait(timeout=30)
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
