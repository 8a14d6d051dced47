"""A throwaway PostgreSQL cluster (initdb + pg_ctl), run as an unprivileged user when we
are root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from tests.services.servers.base import _LIVE, LOOPBACK, Server, ServerError, _Process


def _is_root() -> bool:
    return os.geteuid() == 0


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
        text = "# written by tests/services/servers/postgres.py on every start\n" + "".join(
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
