"""A throwaway RabbitMQ: Debian's ``rabbitmq-server`` run as the current user.

``/usr/sbin/rabbitmq-server`` switches to the ``rabbitmq`` user; the script under
``/usr/lib/rabbitmq/bin/`` runs as whoever calls it, with everything pointed at our temp dir:
node name, AMQP and distribution ports, database, logs, config, the Erlang cookie (``HOME``)
and an ``epmd`` of our own on a free port (stopped with the server), all on loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

from tests.services.servers.base import LOOPBACK, Server, ServerError, _Process, free_port

RABBITMQ_BIN = Path(os.environ.get("PHILOS_RABBITMQ_BINDIR", "/usr/lib/rabbitmq/bin"))
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


class RabbitMQServer(Server):
    name = "rabbitmq"
    startup_timeout = 90.0

    def __init__(self, port: int | None = None, base_dir: Path | str | None = None) -> None:
        super().__init__(port, base_dir)
        self.dist_port = free_port()
        self.epmd_port = free_port()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@{LOOPBACK}:{self.port}/"

    @property
    def node(self) -> str:
        return f"philos{self.port}@localhost"

    def _prepare(self) -> None:
        if not (RABBITMQ_BIN / "rabbitmq-server").exists():
            raise ServerError(
                f"{RABBITMQ_BIN}/rabbitmq-server not found; install it with "
                "`apt-get install --no-install-recommends rabbitmq-server`"
            )
        for sub in ("mnesia", "log", "home"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.base_dir / "enabled_plugins").write_text("[].\n")
        (self.base_dir / "rabbitmq.conf").write_text(
            "loopback_users.guest = true\n"
            "log.console = true\n"
            "log.file = false\n"
            # Small disk here must not make the broker refuse publishes.
            "disk_free_limit.absolute = 50MB\n"
        )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.base_dir / "home"),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS=LOOPBACK,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.base_dir / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.base_dir / "log"),
            RABBITMQ_CONFIG_FILE=str(self.base_dir / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base_dir / "enabled_plugins"),
            RABBITMQ_PID_FILE=str(self.base_dir / "rabbitmq.pid"),
            ERL_EPMD_ADDRESS=LOOPBACK,
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
        )
        env.pop("RABBITMQ_URL", None)
        return env

    def _launch(self, log: Path) -> _Process:
        return self._popen([str(RABBITMQ_BIN / "rabbitmq-server")], log, env=self._env())

    def _probe(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
            sock.sendall(AMQP_HEADER)
            # Connection.Start: a method frame (type 1) on channel 0.
            return sock.recv(7).startswith(b"\x01\x00\x00")

    def cleanup(self) -> None:
        try:
            super().cleanup()
        finally:
            self._stop_epmd()

    def _stop_epmd(self) -> None:
        epmd = shutil.which("epmd") or next(
            (str(p) for p in Path("/usr/lib/erlang").glob("erts-*/bin/epmd")), None
        )
        if epmd is None:
            return
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [epmd, "-port", str(self.epmd_port), "-kill"],
                env=self._env(),
                capture_output=True,
                timeout=10,
                check=False,
            )
