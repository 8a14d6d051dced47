"""Throwaway test servers for the Philos test suite: PostgreSQL, Redis, Neo4j, FerretDB.

Plain Python (no pytest). Each server class picks a free loopback port on its first
``start()``, keeps data and logs under its own temporary directory, waits (bounded) until
the server really answers its protocol, and returns a URL. ``stop()`` ends it by PID;
a later ``start()`` reuses the same port and data directory, like a real restart.
Failures raise :class:`ServerError`, whose message ends with the last lines of the log.

Built artefacts (Neo4j launcher, FerretDB binary) are compiled on first use and cached;
see README.md in this directory.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

__all__ = [
    "CACHE_DIR",
    "FerretDBServer",
    "Neo4jServer",
    "PostgresServer",
    "RedisServer",
    "Server",
    "ServerError",
    "build_ferretdb",
    "build_neo4j",
    "free_port",
    "sweep_leftovers",
]

HERE = Path(__file__).resolve().parent
NEO4J_PROJECT = HERE / "neo4j"
FERRETDB_PROJECT = HERE / "ferretdb"

#: Persistent cache for built binaries and build logs (override with PHILOS_TEST_SERVICES_CACHE).
CACHE_DIR = Path(
    os.environ.get("PHILOS_TEST_SERVICES_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "philos-test-services"
)

LOOPBACK = "127.0.0.1"
LOG_TAIL_LINES = 40
BUILD_TIMEOUT = 30 * 60.0


class _Process(Protocol):
    """What we need of a server process: subprocess.Popen, or _PidProcess for daemons."""

    @property
    def pid(self) -> int: ...

    @property
    def stdin(self) -> IO[bytes] | None: ...

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class ServerError(RuntimeError):
    """A server (or its build) failed; the message carries the relevant log tail."""


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail_file(path: Path, n: int = LOG_TAIL_LINES, start: int = 0) -> str:
    """The last ``n`` lines of ``path`` (from byte offset ``start``), or a note if unreadable."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            begin = max(start, size - 64 * 1024)
            fh.seek(begin)
            data = fh.read()
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-n:]) if n > 0 else ""


def _with_tail(message: str, path: Path, n: int = LOG_TAIL_LINES, start: int = 0) -> str:
    tail = tail_file(path, n, start)
    return f"{message}\n--- last {n} lines of {path} ---\n{tail}\n--- end of log ---"


def _is_root() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (parallel pytest workers build only once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_build(
    cmd: Sequence[str], cwd: Path, log: Path, what: str, env: dict[str, str] | None = None
) -> float:
    """Run a build command, logging to ``log``; return its duration or raise ServerError."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(
            f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)} (in {cwd})\n".encode()
        )
        out.flush()
        try:
            proc = subprocess.run(
                list(cmd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ServerError(f"cannot build {what}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise ServerError(
                _with_tail(f"building {what} timed out after {BUILD_TIMEOUT:.0f}s", log)
            ) from exc
    if proc.returncode != 0:
        raise ServerError(
            _with_tail(f"building {what} failed (exit {proc.returncode}): {' '.join(cmd)}", log)
        )
    return time.monotonic() - started


def _newest_mtime(paths: Sequence[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            for sub in path.rglob("*"):
                if sub.is_file():
                    newest = max(newest, sub.stat().st_mtime)
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def build_neo4j(force: bool = False) -> Path:
    """Compile the Neo4j launcher and copy its jars (Maven), unless up to date.

    Returns the project directory (``target/classes`` and ``target/dependency`` inside).
    """
    target = NEO4J_PROJECT / "target"
    stamp = target / ".philos-build-ok"
    sources = [NEO4J_PROJECT / "pom.xml", NEO4J_PROJECT / "src"]
    with _file_lock(CACHE_DIR / "locks" / "neo4j-build.lock"):
        fresh = (
            stamp.exists()
            and (target / "classes" / "philos" / "testservices" / "Neo4jTestServer.class").exists()
            and any((target / "dependency").glob("neo4j-*.jar"))
            and stamp.stat().st_mtime >= _newest_mtime(sources)
        )
        if fresh and not force:
            return NEO4J_PROJECT
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServerError("cannot build the Neo4j test server: `mvn` (Maven 3) is not on PATH")
        stamp.unlink(missing_ok=True)
        # Stale jars (e.g. after a version bump) would shadow the new ones on the classpath.
        shutil.rmtree(target / "dependency", ignore_errors=True)
        _run_build(
            [mvn, "-B", "-q", "-Dstyle.color=never", "package", "dependency:copy-dependencies"],
            NEO4J_PROJECT,
            CACHE_DIR / "logs" / "neo4j-build.log",
            "the Neo4j test server",
        )
        stamp.touch()
        return NEO4J_PROJECT


def _ferretdb_binary_path() -> Path:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update(name.encode())
        digest.update((FERRETDB_PROJECT / name).read_bytes())
    return CACHE_DIR / "bin" / f"ferretdb-sqlite-{digest.hexdigest()[:12]}"


def build_ferretdb(force: bool = False) -> Path:
    """Build the FerretDB (SQLite backend) wrapper with Go, unless cached; return the binary."""
    binary = _ferretdb_binary_path()
    with _file_lock(CACHE_DIR / "locks" / "ferretdb-build.lock"):
        if binary.exists() and not force:
            return binary
        go = shutil.which("go")
        if go is None:
            raise ServerError("cannot build FerretDB: the `go` toolchain is not on PATH")
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_name(binary.name + ".partial")
        _run_build(
            [go, "build", "-buildvcs=false", "-o", str(partial), "."],
            FERRETDB_PROJECT,
            CACHE_DIR / "logs" / "ferretdb-build.log",
            "FerretDB",
        )
        partial.replace(binary)
        # Binaries from older wrapper versions are dead weight (~45 MB each).
        for old in binary.parent.glob("ferretdb-sqlite-*"):
            if old != binary and not old.name.endswith(".partial"):
                old.unlink(missing_ok=True)
        return binary


# --- scratch directories and leftovers of killed runs ------------------------------------

#: Parent of the servers' temp dirs (one per OS user, so permissions never clash).
SCRATCH_ROOT = Path(tempfile.gettempdir()) / f"philos-test-services-{os.getuid()}"
_swept = False


def _process_token(pid: int) -> str | None:
    """``"PID STARTTIME"`` identifying a live process (PIDs get reused; start times don't)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) <= 19 or fields[0] in ("Z", "X"):  # zombies are as good as gone
        return None
    return f"{pid} {fields[19]}"


def _token_alive(token: str) -> bool:
    parts = token.split()
    return len(parts) == 2 and parts[0].isdigit() and _process_token(int(parts[0])) == token


def _new_scratch_dir(name: str) -> Path:
    global _swept
    SCRATCH_ROOT.mkdir(mode=0o755, exist_ok=True)
    if not _swept:
        _swept = True
        sweep_leftovers()
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=SCRATCH_ROOT))
    (path / "owner").write_text(_process_token(os.getpid()) or "")
    return path


def sweep_leftovers() -> list[Path]:
    """Stop servers and delete temp dirs left by earlier runs whose Python process died
    (e.g. SIGKILLed pytest). Only processes recorded in those dirs are signalled, and only
    if their PID still has the recorded start time (or, for PostgreSQL, runs in that dir)."""
    removed: list[Path] = []
    if not SCRATCH_ROOT.is_dir():
        return removed
    for path in SCRATCH_ROOT.iterdir():
        owner = path / "owner"
        try:
            if not path.is_dir() or (
                time.time() - path.stat().st_mtime < 60 and not owner.exists()
            ):
                continue  # being created right now
            if owner.exists() and _token_alive(owner.read_text().strip()):
                continue
        except OSError:
            continue
        _stop_leftover(path)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _stop_leftover(path: Path) -> None:
    pidfile = path / "server.pid"
    with contextlib.suppress(OSError, ValueError):
        token = pidfile.read_text().strip()
        if token and _token_alive(token):
            os.kill(int(token.split()[0]), signal.SIGKILL)
            deadline = time.monotonic() + 10
            while _token_alive(token) and time.monotonic() < deadline:
                time.sleep(0.05)
    postmaster = path / "data" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(postmaster.read_text().splitlines()[0])
        if Path(f"/proc/{pid}/cwd").resolve() == (path / "data").resolve():
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown of that postmaster
            deadline = time.monotonic() + 10
            while _process_token(pid) is not None and time.monotonic() < deadline:
                time.sleep(0.1)


_LIVE: set[Server] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Last resort: stop servers still running when the interpreter exits."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop()


class Server:
    """Base class: a server process on a loopback port with data under a temp dir.

    Subclasses implement :meth:`_prepare` (one-time setup before the first start),
    :meth:`_launch` (start the process), :meth:`_probe` (does it really answer?),
    and :meth:`_after_ready` (one-time setup once it answers, e.g. creating roles).
    """

    name = "server"
    startup_timeout = 60.0
    stop_timeout = 30.0

    def __init__(self, port: int | None = None, base_dir: Path | str | None = None) -> None:
        self._fixed_port = port is not None
        self.port: int = port if port is not None else free_port()
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir is not None else _new_scratch_dir(self.name)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.base_dir / "server.log"
        self._proc: _Process | None = None
        self._log_offset = 0
        self._prepared = False
        self._initialised = False
        self.starts = 0
        self.last_start_seconds: float | None = None
        self.build_seconds: float | None = None

    # -- public API -----------------------------------------------------------------

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start (or restart, on the same port) and wait until it answers; return the URL."""
        if self.is_running():
            return self.url
        attempts = 1 if (self._fixed_port or self.starts > 0) else 3
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once()
            except ServerError as exc:
                port_taken = "in use" in str(exc).lower() or "port is taken" in str(exc)
                if attempt == attempts or not port_taken:
                    raise
                # Another process grabbed the port between free_port() and bind: pick a new one.
                self.port = free_port()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after ``stop_timeout``)."""
        _LIVE.discard(self)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._terminate(proc, signal.SIGTERM)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), simulating a crash; ``start()`` again recovers."""
        _LIVE.discard(self)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._terminate(proc, signal.SIGKILL)

    def restart(self) -> str:
        self.stop()
        return self.start()

    def log_tail(self, n: int = LOG_TAIL_LINES) -> str:
        return tail_file(self.log_path, n)

    def cleanup(self) -> None:
        """Stop and, if we created it, delete the temp directory."""
        try:
            self.stop()
        finally:
            if self._own_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {LOOPBACK}:{self.port} {state} dir={self.base_dir}>"

    # -- subclass hooks -----------------------------------------------------------------

    def _prepare(self) -> None:
        """One-time work before the first launch (build, initdb...)."""

    def _launch(self, log: Path) -> _Process:
        raise NotImplementedError

    def _probe(self) -> bool:
        raise NotImplementedError

    def _after_ready(self) -> None:
        """One-time work after the first successful start."""

    def _terminate(self, proc: _Process, sig: signal.Signals) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=self.stop_timeout)
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()

    # -- helpers ----------------------------------------------------------------------------

    def _start_once(self) -> str:
        if not self._prepared:
            self._prepare()
            self._prepared = True
        if port_is_open(self.port):
            raise ServerError(
                f"{self.name}: port {LOOPBACK}:{self.port} is taken by another process; "
                "cannot start there"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as fh:
            fh.write(
                f"=== philos test harness: starting {self.name} "
                f"on {LOOPBACK}:{self.port} ===\n".encode()
            )
        started = time.monotonic()
        try:
            self._proc = self._launch(self.log_path)
            self._wait_ready(started)
            if not self._initialised:
                self._after_ready()
                self._initialised = True
        except BaseException as exc:
            self._abort()
            if isinstance(exc, ServerError):
                raise
            if isinstance(exc, Exception):
                raise ServerError(
                    self._fail_message(f"{self.name} failed to start: {exc!r}")
                ) from exc
            raise
        self.last_start_seconds = time.monotonic() - started
        self.starts += 1
        _LIVE.add(self)
        return self.url

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()

    def _fail_message(self, message: str) -> str:
        return _with_tail(message, self.log_path, LOG_TAIL_LINES, self._log_offset)

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        last_error = ""
        while True:
            proc = self._proc
            if proc is not None and proc.poll() is not None:
                raise ServerError(
                    self._fail_message(
                        f"{self.name} exited with code {proc.returncode} during start-up"
                    )
                )
            try:
                if self._probe():
                    return
            except OSError as exc:
                last_error = f" (last probe error: {exc})"
            if time.monotonic() > deadline:
                raise ServerError(
                    self._fail_message(
                        f"{self.name} did not answer on {LOOPBACK}:{self.port} "
                        f"within {self.startup_timeout:.0f}s" + last_error
                    )
                )
            time.sleep(0.1)

    def _log_since_start(self) -> str:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _popen(
        self,
        cmd: Sequence[str],
        log: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        stdin_pipe: bool = False,
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            try:
                proc = subprocess.Popen(
                    list(cmd),
                    cwd=cwd or self.base_dir,
                    stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerError(f"{self.name}: cannot run {cmd[0]}: {exc}") from exc
        # Lets a later run stop this process if our interpreter dies without cleaning up.
        (self.base_dir / "server.pid").write_text(_process_token(proc.pid) or "")
        return proc


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_bindir() -> Path:
    configured = os.environ.get("PHILOS_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    candidates.append(Path("/usr/lib/postgresql/15/bin"))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    on_path = shutil.which("pg_ctl")
    if on_path is not None:
        return Path(on_path).resolve().parent
    raise ServerError(
        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); "
        "install postgresql-15 or set PHILOS_PG_BINDIR"
    )


def _pg_os_user() -> str | None:
    """The unprivileged OS user to run PostgreSQL as when we are root (None if not root)."""
    if not _is_root():
        return None
    for candidate in (os.environ.get("PHILOS_PG_OS_USER"), "postgres", "nobody"):
        if not candidate:
            continue
        try:
            pwd.getpwnam(candidate)
        except KeyError:
            continue
        return candidate
    raise ServerError(
        "running as root but found no unprivileged user (postgres/nobody) to run PostgreSQL as"
    )


class PostgresServer(Server):
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) with role ``philos`` and database
    ``philos_concepts``; ``pg_stat_statements`` is preloaded when the contrib module exists."""

    name = "postgres"
    startup_timeout = 60.0
    role = "philos"
    database = "philos_concepts"
    superuser = "postgres"

    def __init__(self, port: int | None = None, base_dir: Path | str | None = None) -> None:
        super().__init__(port, base_dir)
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.bindir = _pg_bindir()
        self.os_user = _pg_os_user()
        self.pg_stat_statements = self._contrib_available("pg_stat_statements")

    @property
    def url(self) -> str:
        return f"postgresql://{self.role}@{LOOPBACK}:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        """Superuser URL (database ``postgres``), for tests that need to create/drop databases."""
        return f"postgresql://{self.superuser}@{LOOPBACK}:{self.port}/postgres"

    def _contrib_available(self, extension: str) -> bool:
        sharedir = Path("/usr/share/postgresql") / self.bindir.parent.name
        try:
            out = subprocess.run(
                [str(self.bindir / "pg_config"), "--sharedir"],
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            )
            if out.returncode == 0 and out.stdout.strip():
                sharedir = Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
        # pg_config may belong to another major version; prefer the share dir matching bindir.
        versioned = Path("/usr/share/postgresql") / self.bindir.parent.name
        for directory in (versioned, sharedir):
            if (directory / "extension" / f"{extension}.control").exists():
                return True
        return False

    def _as_pg_user(self, cmd: Sequence[str]) -> list[str]:
        if self.os_user is None:
            return list(cmd)
        return ["runuser", "-u", self.os_user, "--", *cmd]

    def _run(
        self, cmd: Sequence[str], what: str, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(
                list(cmd),
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerError(self._fail_message(f"postgres: {what} failed: {exc}")) from exc
        if proc.returncode != 0:
            raise ServerError(
                self._fail_message(
                    f"postgres: {what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                    f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}"
                )
            )
        return proc

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": f"'{LOOPBACK}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "64MB",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
        }
        if self.pg_stat_statements:
            settings["shared_preload_libraries"] = "'pg_stat_statements'"
            settings["pg_stat_statements.track"] = "all"
        text = "# written by tests/services/servers.py on every start\n" + "".join(
            f"{key} = {value}\n" for key, value in settings.items()
        )
        (self.data_dir / "philos_test.conf").write_text(text)

    def _prepare(self) -> None:
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.base_dir, entry.pw_uid, entry.pw_gid)
            self.base_dir.chmod(0o755)
        self.socket_dir.mkdir(exist_ok=True)
        self.log_path.touch()
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            for path in (self.socket_dir, self.log_path):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                self._as_pg_user(
                    [
                        str(self.bindir / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        self.superuser,
                        "-A",
                        "trust",
                        "-E",
                        "UTF8",
                        "--locale=C",
                        "--no-sync",
                    ]
                ),
                "initdb",
            )
            with (self.data_dir / "postgresql.conf").open("a") as fh:
                fh.write("\ninclude = 'philos_test.conf'\n")

    def _launch(self, log: Path) -> _Process:
        self._write_config()
        if self.os_user is not None:
            entry = pwd.getpwnam(self.os_user)
            os.chown(self.data_dir / "philos_test.conf", entry.pw_uid, entry.pw_gid)
        # pg_ctl forks the postmaster; wait for pg_ctl itself, then track the postmaster PID.
        self._run(
            self._as_pg_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(int(self.startup_timeout)),
                    "start",
                ]
            ),
            "pg_ctl start",
            timeout=self.startup_timeout + 10,
        )
        return _PidProcess(self._postmaster_pid())

    def _postmaster_pid(self) -> int:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError) as exc:
            raise ServerError(
                self._fail_message(f"postgres: cannot read postmaster.pid: {exc}")
            ) from exc

    def _probe(self) -> bool:
        proc = subprocess.run(
            [
                str(self.bindir / "pg_isready"),
                "-q",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                self.superuser,
                "-d",
                "postgres",
                "-t",
                "2",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=10,
        )
        return proc.returncode == 0

    def psql(self, sql: str, database: str = "postgres", user: str | None = None) -> str:
        """Run SQL through psql over the unix socket as the superuser (or ``user``)."""
        proc = self._run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                user or self.superuser,
                "-d",
                database,
                "-c",
                sql,
            ],
            f"psql {sql!r}",
        )
        return proc.stdout.strip()

    def _after_ready(self) -> None:
        exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{self.role}'")
        if exists != "1":
            self.psql(f'CREATE ROLE "{self.role}" LOGIN CREATEDB')
            # pg_monitor: read pg_stat_statements of all users and settings such as
            # shared_preload_libraries (observability queries in the tests).
            self.psql(f'GRANT pg_monitor TO "{self.role}"')
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists != "1":
            self.psql(f'CREATE DATABASE "{self.database}" OWNER "{self.role}"')
        if self.pg_stat_statements:
            self.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", database=self.database)

    def _pg_ctl_stop(self, mode: str) -> None:
        _LIVE.discard(self)
        pid = self.pid
        if pid is None:
            self._proc = None
            return
        proc = self._proc
        self._proc = None
        result = subprocess.run(
            self._as_pg_user(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(int(self.stop_timeout)),
                    "stop",
                ]
            ),
            capture_output=True,
            check=False,
            timeout=self.stop_timeout + 10,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0 and proc is not None:
            # pg_ctl could not stop it: fall back to signalling our postmaster by PID.
            self._terminate(proc, signal.SIGQUIT if mode == "immediate" else signal.SIGINT)

    def stop(self) -> None:
        self._pg_ctl_stop("fast")

    def kill(self) -> None:
        self._pg_ctl_stop("immediate")


class _PidProcess:
    """Stand-in for a Popen of a daemon we did not fork directly (the postmaster)."""

    stdin: IO[bytes] | None = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            self.returncode = 0
        except PermissionError:
            pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.05)
        return code


# --- Redis ------------------------------------------------------------------------------------


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


# --- Neo4j ---------------------------------------------------------------------------------


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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


# --- FerretDB ------------------------------------------------------------------------------


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


# --- convenience -----------------------------------------------------------------------------

SERVER_CLASSES: dict[str, Callable[[], Server]] = {
    "postgres": PostgresServer,
    "redis": RedisServer,
    "neo4j": Neo4jServer,
    "mongo": FerretDBServer,
}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.services.servers [postgres redis neo4j mongo]``: start them, print
    their URLs and wait for Ctrl-C (handy for running the API against real servers by hand)."""
    names = list(argv if argv is not None else sys.argv[1:]) or list(SERVER_CLASSES)
    unknown = [n for n in names if n not in SERVER_CLASSES]
    if unknown:
        print(
            f"unknown server(s): {', '.join(unknown)}; choose from {', '.join(SERVER_CLASSES)}",
            file=sys.stderr,
        )
        return 2
    servers: list[Server] = []
    try:
        for name in names:
            server = SERVER_CLASSES[name]()
            servers.append(server)
            url = server.start()
            build = (
                f", build/check {server.build_seconds:.1f}s"
                if server.build_seconds is not None
                else ""
            )
            print(
                f"{name}: {url}  (started in {server.last_start_seconds:.1f}s{build}; "
                f"log {server.log_path})",
                flush=True,
            )
        print("Press Ctrl-C to stop.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    except ServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
