"""The generic throwaway server: a process on a free loopback port, data and log in its own
temp dir, a bounded wait until it answers, stop/kill/restart by PID.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

from tests.services.servers.scratch import _new_scratch_dir, _process_token

LOOPBACK = "127.0.0.1"
LOG_TAIL_LINES = 40


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


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


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
