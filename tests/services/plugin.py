"""pytest plugin: real backend servers for the Philos tests, started lazily per session.

Fixtures (all session-scoped): ``postgres_url``, ``redis_url``, ``neo4j_uri``, ``mongodb_uri``,
``rabbitmq_url``, ``opensearch_url``. Each uses the server named by the environment
(``DATABASE_URL`` if it starts with ``postgresql``, ``REDIS_URL``, ``NEO4J_URI``, ``MONGODB_URI``,
``RABBITMQ_URL``, ``OPENSEARCH_URL``) or else starts a throwaway one
the first time a test asks for it, and stops it when the session ends. A server that cannot
start makes the tests that need it fail (with the server's log tail), never skip; the one
exception is OpenSearch on a machine without ``java`` or ``mvn``, whose tests skip saying so.

``PHILOS_TEST_BACKENDS`` (comma list from ``sqlite,postgres,redis,neo4j,mongo,rabbitmq,opensearch``;
default all)
opts backends out: their fixtures skip, and the terminal summary says which were not run.

``service_control`` (function-scoped) stops, kills and restarts the throwaway servers mid-test
(same port, same data) and restarts anything left stopped when the test ends.

Register it in ``tests/conftest.py`` with ``pytest_plugins = ["tests.services.plugin"]``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.services.servers import (
    FerretDBServer,
    Neo4jServer,
    OpenSearchServer,
    PostgresServer,
    RabbitMQServer,
    RedisServer,
    Server,
    ServerError,
)

__all__ = [
    "ALL_BACKENDS",
    "ServiceControl",
    "ServiceManager",
    "backend_enabled",
    "selected_backends",
]

ALL_BACKENDS: tuple[str, ...] = (
    "sqlite",
    "postgres",
    "redis",
    "neo4j",
    "mongo",
    "rabbitmq",
    "opensearch",
)
BACKENDS_ENV = "PHILOS_TEST_BACKENDS"

#: backend -> (environment variable naming an existing server, accepted URL prefix or "")
EXTERNAL_ENV: dict[str, tuple[str, str]] = {
    "postgres": ("DATABASE_URL", "postgresql"),
    "redis": ("REDIS_URL", ""),
    "neo4j": ("NEO4J_URI", ""),
    "mongo": ("MONGODB_URI", ""),
    "rabbitmq": ("RABBITMQ_URL", "amqp"),
    "opensearch": ("OPENSEARCH_URL", "http"),
}

SERVER_TYPES: dict[str, type[Server]] = {
    "postgres": PostgresServer,
    "redis": RedisServer,
    "neo4j": Neo4jServer,
    "mongo": FerretDBServer,
    "rabbitmq": RabbitMQServer,
    "opensearch": OpenSearchServer,
}


def selected_backends() -> tuple[str, ...]:
    """The backends selected by ``PHILOS_TEST_BACKENDS`` (all when unset or blank)."""
    raw = os.environ.get(BACKENDS_ENV, "")
    names = [part.strip().lower() for part in raw.split(",") if part.strip()]
    if not names:
        return ALL_BACKENDS
    unknown = sorted(set(names) - set(ALL_BACKENDS))
    if unknown:
        raise pytest.UsageError(
            f"{BACKENDS_ENV}={raw!r} names unknown backend(s) {', '.join(unknown)}; "
            f"choose from {','.join(ALL_BACKENDS)}"
        )
    return tuple(name for name in ALL_BACKENDS if name in names)


def backend_enabled(name: str) -> bool:
    """Whether backend ``name`` (one of ``ALL_BACKENDS``) is selected for this run."""
    if name not in ALL_BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(ALL_BACKENDS)}")
    return name in selected_backends()


def external_url(backend: str) -> str | None:
    """The URL of an existing server given by the environment for ``backend``, if any."""
    variable, prefix = EXTERNAL_ENV[backend]
    value = os.environ.get(variable, "").strip()
    if value and value.startswith(prefix):
        return value
    return None


def _require_backend(backend: str) -> None:
    if not backend_enabled(backend):
        pytest.skip(f"backend {backend} not selected by {BACKENDS_ENV}")


class ServiceManager:
    """Starts each throwaway server at most once per session and stops them all at the end."""

    def __init__(self) -> None:
        self.servers: dict[str, Server] = {}
        self.failures: dict[str, str] = {}
        self._summary: list[str] = []

    def server(self, backend: str) -> Server:
        """The running throwaway server for ``backend``, started on first use.

        A start failure is remembered: later tests fail at once with the same message instead
        of waiting for the server again.
        """
        if backend in self.failures:
            pytest.fail(self.failures[backend], pytrace=False)
        server = self.servers.get(backend)
        if server is None:
            server = SERVER_TYPES[backend]()
            self.servers[backend] = server
        try:
            server.start()
        except ServerError as exc:
            message = f"could not start the throwaway {backend} server for the tests:\n{exc}"
            self.failures[backend] = message
            pytest.fail(message, pytrace=False)
        return server

    def ensure_running(self, backends: Iterable[str]) -> None:
        """Each of these throwaway servers answering before a test uses it: one a test left
        stopped (a restart that failed, say) is started again, once; if that fails too,
        every later test that needs it fails at once, instead of each waiting on a store
        that is not there."""
        for backend in backends:
            if external_url(backend) is None:
                self.server(backend)

    def url(self, backend: str) -> str:
        _require_backend(backend)
        given = external_url(backend)
        if given is not None:
            return given
        return self.server(backend).url

    def close(self) -> None:
        self._summary.extend(self._describe())
        errors: list[str] = []
        for backend, server in reversed(list(self.servers.items())):
            try:
                server.cleanup()
            except Exception as exc:  # keep stopping the others
                errors.append(f"{backend}: {exc!r}")
        self.servers.clear()
        if errors:
            raise RuntimeError("stopping test servers failed: " + "; ".join(errors))

    def summary_lines(self) -> list[str]:
        return [*self._summary, *self._describe()]

    def _describe(self) -> list[str]:
        lines = []
        for backend, server in self.servers.items():
            if server.starts == 0:
                continue
            build = f"build check {server.build_seconds:.1f}s, " if server.build_seconds else ""
            last = server.last_start_seconds or 0.0
            lines.append(
                f"{backend}: throwaway {server.url} ({build}started {server.starts}x, "
                f"last start {last:.1f}s)"
            )
        return lines


_MANAGER_KEY = pytest.StashKey[ServiceManager]()


def _manager(config: pytest.Config) -> ServiceManager:
    manager = config.stash.get(_MANAGER_KEY, None)
    if manager is None:
        manager = ServiceManager()
        config.stash[_MANAGER_KEY] = manager
    return manager


# --- hooks --------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    selected_backends()  # fail fast on a misspelt PHILOS_TEST_BACKENDS
    _manager(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    manager = config.stash.get(_MANAGER_KEY, None)
    if manager is not None:
        manager.close()


def pytest_report_header(config: pytest.Config) -> list[str]:
    parts = []
    for backend in ALL_BACKENDS[1:]:
        given = external_url(backend)
        parts.append(f"{backend}={'env' if given else 'throwaway'}")
    return [f"backends: {','.join(selected_backends())} ({' '.join(parts)})"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    selected = selected_backends()
    skipped = [name for name in ALL_BACKENDS if name not in selected]
    if skipped:
        terminalreporter.write_line(
            f"backends not run: {', '.join(skipped)} "
            f"({BACKENDS_ENV}={os.environ.get(BACKENDS_ENV, '')})"
        )
    manager = terminalreporter.config.stash.get(_MANAGER_KEY, None)
    if manager is not None:
        for line in manager.summary_lines():
            terminalreporter.write_line(f"test services: {line}")


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def service_manager(request: pytest.FixtureRequest) -> Iterator[ServiceManager]:
    """The session's throwaway servers (stopped at session end)."""
    manager = _manager(request.config)
    yield manager
    manager.close()


@pytest.fixture(scope="session")
def postgres_url(service_manager: ServiceManager) -> str:
    """``postgresql://philos@127.0.0.1:PORT/philos_concepts`` (or ``DATABASE_URL``)."""
    return service_manager.url("postgres")


@pytest.fixture(scope="session")
def redis_url(service_manager: ServiceManager) -> str:
    """``redis://127.0.0.1:PORT/0`` (or ``REDIS_URL``)."""
    return service_manager.url("redis")


@pytest.fixture(scope="session")
def neo4j_uri(service_manager: ServiceManager) -> str:
    """``bolt://127.0.0.1:PORT``, auth disabled (or ``NEO4J_URI``)."""
    return service_manager.url("neo4j")


@pytest.fixture(scope="session")
def mongodb_uri(service_manager: ServiceManager) -> str:
    """``mongodb://127.0.0.1:PORT/`` served by FerretDB (or ``MONGODB_URI``)."""
    return service_manager.url("mongo")


@pytest.fixture(scope="session")
def rabbitmq_url(service_manager: ServiceManager) -> str:
    """``amqp://guest:guest@127.0.0.1:PORT/`` (or ``RABBITMQ_URL``)."""
    return service_manager.url("rabbitmq")


@pytest.fixture(scope="session")
def opensearch_url(service_manager: ServiceManager) -> str:
    """``http://127.0.0.1:PORT``, one OpenSearch 2.19 node without security (or
    ``OPENSEARCH_URL``). Skips when ``java`` or ``mvn`` is missing (the node is built from
    Maven Central jars); any other start failure fails."""
    _require_backend("opensearch")
    if external_url("opensearch") is None:
        missing = [] if Neo4jServer._java() else ["java"]
        missing += [] if shutil.which("mvn") else ["mvn"]
        if missing:
            pytest.skip(
                f"OpenSearch test node needs {' and '.join(missing)} on PATH "
                "(JDK 17+ and Maven 3; the Debian packages openjdk-17-jdk-headless and maven)"
            )
    return service_manager.url("opensearch")


class ServiceControl:
    """Stop/kill/restart throwaway servers mid-test; anything left stopped restarts at teardown.

    Only throwaway servers can be controlled: with an external server from the environment
    the test is skipped (we cannot stop someone else's server).
    """

    def __init__(self, manager: ServiceManager) -> None:
        self._manager = manager
        self._touched: dict[str, Server] = {}

    def server(self, backend: str) -> Server:
        _require_backend(backend)
        if external_url(backend) is not None:
            variable = EXTERNAL_ENV[backend][0]
            pytest.skip(f"{backend} is an external server ({variable} is set); cannot stop it")
        server = self._manager.server(backend)
        self._touched[backend] = server
        return server

    def stop(self, backend: str) -> None:
        """Graceful stop (the port stops answering)."""
        self.server(backend).stop()

    def kill(self, backend: str) -> None:
        """SIGKILL (or ``pg_ctl -m immediate``): a crash."""
        self.server(backend).kill()

    def start(self, backend: str) -> str:
        """Start again on the same port with the same data; returns the (unchanged) URL."""
        return self._start(self.server(backend), backend)

    def restart(self, backend: str) -> str:
        server = self.server(backend)
        server.stop()
        return self._start(server, backend)

    @contextlib.contextmanager
    def outage(self, backend: str, *, crash: bool = False) -> Iterator[Server]:
        """``with control.outage("neo4j"): ...`` — the server is down inside the block."""
        server = self.server(backend)
        if crash:
            server.kill()
        else:
            server.stop()
        try:
            yield server
        finally:
            self._start(server, backend)

    @contextlib.contextmanager
    def frozen(self, backend: str) -> Iterator[Server]:
        """``with control.frozen("neo4j"): ...`` — the server's processes are stopped
        (SIGSTOP) inside the block: its port still takes connections and its open ones stay
        up, but nothing is answered, as with a hung server or a black-holed network."""
        server = self.server(backend)
        pid = server.pid
        if pid is None:
            pytest.fail(f"{backend} is not running", pytrace=False)
        # The server first, so that it starts no other process meanwhile, then every one it
        # started (PostgreSQL's backends, each a session of its own).
        frozen = [pid]
        try:
            os.kill(pid, signal.SIGSTOP)
            frozen = _with_descendants(pid)
            for each in frozen[1:]:
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    os.kill(each, signal.SIGSTOP)
            yield server
        finally:  # whatever happened, nothing stays stopped
            for each in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(each, signal.SIGCONT)

    @staticmethod
    def _start(server: Server, backend: str) -> str:
        try:
            return server.start()
        except ServerError as exc:
            pytest.fail(f"could not restart {backend}:\n{exc}", pytrace=False)

    def restore(self) -> None:
        failures = []
        for backend, server in self._touched.items():
            if not server.is_running():
                try:
                    server.start()
                except ServerError as exc:
                    failures.append(f"{backend}: {exc}")
        if failures:
            pytest.fail("could not restart after the test:\n" + "\n".join(failures), pytrace=False)


def _with_descendants(pid: int) -> list[int]:
    """``pid`` and the processes below it, each after its parent (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # it ended meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found = [pid]
    for each in found:
        found.extend(children.get(each, ()))
    return found


@pytest.fixture
def service_control(service_manager: ServiceManager) -> Iterator[ServiceControl]:
    """Stop/kill/restart throwaway servers within a test (restored at teardown)."""
    control = ServiceControl(service_manager)
    yield control
    control.restore()
