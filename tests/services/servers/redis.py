"""A throwaway Redis: ``redis-server`` in the foreground, no persistence."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from tests.services.servers.base import LOOPBACK, Server, ServerError, _Process


class RedisServer(Server):
    """``redis-server`` in the foreground, no persistence."""

    name = "redis"
    startup_timeout = 20.0

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _prepare(self) -> None:
        if self._binary() is None:
            raise ServerError(
                "redis-server not found on PATH; install it with `apt-get install -y redis-server`"
            )

    @staticmethod
    def _binary() -> str | None:
        return shutil.which("redis-server") or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
        )

    def _launch(self, log: Path) -> _Process:
        binary = self._binary()
        assert binary is not None
        return self._popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                LOOPBACK,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.base_dir),
                "--protected-mode",
                "yes",
            ],
            log,
        )

    def _probe(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
