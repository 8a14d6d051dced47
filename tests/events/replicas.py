"""Real ``philos serve`` replicas for the event tests: each its own process on a free port,
sharing one PostgreSQL database (and, when given, one RabbitMQ)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.services.servers import free_port, tail_file

SECRET = "events-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


class Replica:
    def __init__(self, name: str, base: Path, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = base / f"{name}.log"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PHILOS_", "RABBITMQ_"))
            and k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL"}
            and k not in {"ANTHROPIC_API_KEY", "JWT_SECRET"}
        }
        self.env.update(
            {
                "JWT_SECRET": SECRET,
                "PHILOS_ENV": "test",
                "PHILOS_DATA_DIR": str(base / name),
                "PHILOS_SEED_ON_START": "false",
                "PHILOS_RATE_LIMIT_IP": "0",
                "PHILOS_RATE_LIMIT_USER": "0",
                "PHILOS_OUTBOX_MAX_DELAY": "1",
                "PHILOS_LOG_LEVEL": "WARNING",
            }
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path(self.env["PHILOS_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "philos", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited:\n{tail_file(self.log)}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} did not start:\n{tail_file(self.log)}")

    def terminate(self) -> int:
        """SIGTERM, and wait for the exit; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.terminate()

    def diagnostics(self) -> str:
        return f"--- {self.name} log ---\n{tail_file(self.log)}"
