"""A throwaway OpenSearch node, embedded in the small Java launcher of ``tests/services/opensearch``."""

from __future__ import annotations

import contextlib
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.services.servers.base import LOOPBACK, Server, ServerError, _Process, free_port
from tests.services.servers.build import OPENSEARCH_PROJECT, build_opensearch
from tests.services.servers.neo4j import Neo4jServer


class OpenSearchServer(Server):
    """OpenSearch 2.19, one node, embedded in a small Java launcher (``tests/services/opensearch``).

    HTTP on ``127.0.0.1:PORT`` without security, with the netty4, ingest-common and Painless
    modules. The node's home (indices, pipelines) is kept under the temp dir, so ``stop()`` +
    ``start()`` keeps the data.
    """

    name = "opensearch"
    startup_timeout = 180.0
    heap = "512m"

    def __init__(self, port: int | None = None, base_dir: Path | str | None = None) -> None:
        super().__init__(port, base_dir)
        self.transport_port = free_port()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _prepare(self) -> None:
        started = time.monotonic()
        build_opensearch()
        self.build_seconds = time.monotonic() - started
        if Neo4jServer._java() is None:
            raise ServerError(
                "cannot start OpenSearch: `java` (JDK 17+) not found on PATH or in JAVA_HOME"
            )

    def _launch(self, log: Path) -> _Process:
        java = Neo4jServer._java()
        assert java is not None
        target = OPENSEARCH_PROJECT / "target"
        cmd = [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            f"-Djava.io.tmpdir={self.base_dir}",
            "-Dfile.encoding=UTF-8",
            "-Djava.awt.headless=true",
            "-cp",
            f"{target / 'classes'}:{target / 'dependency'}/*",
            "philos.testservices.OpenSearchTestServer",
            "--home",
            str(self.base_dir / "home"),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--transport-port",
            str(self.transport_port),
        ]
        # stdin is a pipe: the launcher exits when it closes, so it never outlives us.
        return self._popen(cmd, log, stdin_pipe=True)

    def _probe(self) -> bool:
        log = self._log_since_start()
        if "READY http://" not in log:
            if "BindException" in log or "Address already in use" in log:
                raise ServerError(self._fail_message(f"opensearch: port {self.port} is in use"))
            return False
        return cluster_is_up(self.url)

    def _terminate(self, proc: _Process, sig: signal.Signals) -> None:
        if sig != signal.SIGKILL and proc.stdin is not None:
            # Closing stdin and SIGTERM both run the launcher's shutdown hook (clean close).
            with contextlib.suppress(OSError):
                proc.stdin.close()
        super()._terminate(proc, sig)


def cluster_is_up(url: str, timeout: float = 5.0) -> bool:
    """True once the node answers ``_cluster/health`` with yellow or green."""
    request = urllib.request.Request(f"{url}/_cluster/health?wait_for_status=yellow&timeout=2s")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = json.loads(response.read())["status"]
    except urllib.error.HTTPError:  # 408 while it is not yet yellow
        return False
    return status in {"yellow", "green"}
