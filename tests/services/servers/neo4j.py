"""A throwaway Neo4j, embedded in the small Java launcher of ``tests/services/neo4j``."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import time
from pathlib import Path

from tests.services.servers.base import LOOPBACK, Server, ServerError, _Process, _recv_exact
from tests.services.servers.build import NEO4J_PROJECT, build_neo4j


class Neo4jServer(Server):
    """Neo4j 5.26 Community, embedded in a small Java launcher (``tests/services/neo4j``).

    Bolt on ``127.0.0.1:PORT``, auth disabled, no HTTP. The database home is kept under the
    temp dir, so ``stop()`` + ``start()`` keeps the data (``kill()`` simulates a crash).
    """

    name = "neo4j"
    startup_timeout = 180.0
    heap = "512m"
    page_cache_mb = 64

    @property
    def url(self) -> str:
        return f"bolt://{LOOPBACK}:{self.port}"

    def _prepare(self) -> None:
        started = time.monotonic()
        build_neo4j()
        self.build_seconds = time.monotonic() - started
        if self._java() is None:
            raise ServerError(
                "cannot start Neo4j: `java` (JDK 17+) not found on PATH or in JAVA_HOME"
            )

    @staticmethod
    def _java() -> str | None:
        home = os.environ.get("JAVA_HOME")
        if home and (Path(home) / "bin" / "java").exists():
            return str(Path(home) / "bin" / "java")
        return shutil.which("java")

    def _launch(self, log: Path) -> _Process:
        java = self._java()
        assert java is not None
        classpath = (
            f"{NEO4J_PROJECT / 'target' / 'classes'}:{NEO4J_PROJECT / 'target' / 'dependency'}/*"
        )
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xss2m",
            "-XX:+ExitOnOutOfMemoryError",
            f"-Djava.io.tmpdir={self.base_dir}",
            "-Dfile.encoding=UTF-8",
            # the flags Neo4j's own launcher passes on Java 17
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-cp",
            classpath,
            "philos.testservices.Neo4jTestServer",
            "--home",
            str(self.base_dir / "home"),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--page-cache-mb",
            str(self.page_cache_mb),
        ]
        # stdin is a pipe: the launcher exits when it closes, so it never outlives us.
        return self._popen(cmd, log, stdin_pipe=True)

    def _probe(self) -> bool:
        log = self._log_since_start()
        if "READY bolt://" not in log:
            if "Address already in use" in log or "BindException" in log:
                raise ServerError(self._fail_message(f"neo4j: port {self.port} is in use"))
            return False
        return bolt_handshake(LOOPBACK, self.port)

    def _terminate(self, proc: _Process, sig: signal.Signals) -> None:
        if sig == signal.SIGKILL:
            super()._terminate(proc, sig)
            return
        # Closing stdin and SIGTERM both run the launcher's shutdown hook (clean shutdown).
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        super()._terminate(proc, sig)


def bolt_handshake(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a Bolt server on host:port agrees on a protocol version (4.x/5.x)."""
    proposals = (
        bytes([0, 8, 8, 5]) + bytes([0, 0, 4, 4]) + bytes([0, 0, 0, 0]) + bytes([0, 0, 0, 0])
    )
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(b"\x60\x60\xb0\x17" + proposals)
        reply = _recv_exact(sock, 4)
    return reply != b"\x00\x00\x00\x00"
