"""A throwaway MongoDB-wire server: FerretDB with its SQLite backend, built from
``tests/services/ferretdb``.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import time
from pathlib import Path

from tests.services.servers.base import LOOPBACK, Server, ServerError, _Process, _recv_exact
from tests.services.servers.build import build_ferretdb


class FerretDBServer(Server):
    """FerretDB v1.24.2 (MongoDB wire protocol) with the SQLite backend, built from
    ``tests/services/ferretdb`` with Go. Data lives under the temp dir and survives restarts."""

    name = "ferretdb"
    startup_timeout = 30.0
    log_level = "info"

    def __init__(self, port: int | None = None, base_dir: Path | str | None = None) -> None:
        super().__init__(port, base_dir)
        self.binary: Path | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}/"

    def _prepare(self) -> None:
        started = time.monotonic()
        self.binary = build_ferretdb()
        self.build_seconds = time.monotonic() - started

    def _launch(self, log: Path) -> _Process:
        assert self.binary is not None
        return self._popen(
            [
                str(self.binary),
                "-listen-addr",
                f"{LOOPBACK}:{self.port}",
                "-sqlite-dir",
                str(self.base_dir / "data"),
                "-log-level",
                self.log_level,
            ],
            log,
            stdin_pipe=True,
        )

    def _probe(self) -> bool:
        log = self._log_since_start()
        if "READY mongodb://" not in log:
            if "address already in use" in log:
                raise ServerError(self._fail_message(f"ferretdb: port {self.port} is in use"))
            return False
        return mongo_hello(LOOPBACK, self.port)

    def _terminate(self, proc: _Process, sig: signal.Signals) -> None:
        if sig != signal.SIGKILL and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        super()._terminate(proc, sig)


def _bson_hello() -> bytes:
    body = (
        b"\x10hello\x00"
        + struct.pack("<i", 1)
        + b"\x02$db\x00"
        + struct.pack("<i", 6)
        + b"admin\x00"
    )
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def mongo_hello(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if a MongoDB-wire server answers ``hello`` with ok: 1 (raw OP_MSG, no driver)."""
    doc = _bson_hello()
    payload = struct.pack("<I", 0) + b"\x00" + doc
    header = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(header + payload)
        length, _, _, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
        body = _recv_exact(sock, length - 16)
    return opcode == 2013 and b"\x01ok\x00" + struct.pack("<d", 1.0) in body
