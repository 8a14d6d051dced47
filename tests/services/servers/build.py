"""Built artefacts of the test servers (the Neo4j and OpenSearch launchers, the FerretDB
binary): compiled on first use under a file lock, cached, rebuilt when their sources change.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.services.servers.base import ServerError, _with_tail

HERE = Path(__file__).resolve().parent.parent  # tests/services
NEO4J_PROJECT = HERE / "neo4j"
FERRETDB_PROJECT = HERE / "ferretdb"
OPENSEARCH_PROJECT = HERE / "opensearch"

#: Persistent cache for built binaries and build logs (override with PHILOS_TEST_SERVICES_CACHE).
CACHE_DIR = Path(
    os.environ.get("PHILOS_TEST_SERVICES_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "philos-test-services"
)

BUILD_TIMEOUT = 30 * 60.0


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


def _build_maven(project: Path, main_class: str, jar_glob: str, what: str) -> Path:
    """``mvn package dependency:copy-dependencies`` in ``project``, unless up to date.

    Returns the project directory (``target/classes`` and ``target/dependency`` inside).
    """
    target = project / "target"
    stamp = target / ".philos-build-ok"
    sources = [project / "pom.xml", project / "src"]
    class_file = target / "classes" / "philos" / "testservices" / f"{main_class}.class"
    with _file_lock(CACHE_DIR / "locks" / f"{project.name}-build.lock"):
        fresh = (
            stamp.exists()
            and class_file.exists()
            and any((target / "dependency").glob(jar_glob))
            and stamp.stat().st_mtime >= _newest_mtime(sources)
        )
        if fresh:
            return project
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServerError(f"cannot build {what}: `mvn` (Maven 3) is not on PATH")
        stamp.unlink(missing_ok=True)
        # Stale jars (e.g. after a version bump) would shadow the new ones on the classpath.
        shutil.rmtree(target / "dependency", ignore_errors=True)
        _run_build(
            [mvn, "-B", "-q", "-Dstyle.color=never", "package", "dependency:copy-dependencies"],
            project,
            CACHE_DIR / "logs" / f"{project.name}-build.log",
            what,
        )
        stamp.touch()
        return project


def build_neo4j(force: bool = False) -> Path:
    """Compile the Neo4j launcher and copy its jars (Maven), unless up to date."""
    if force:
        (NEO4J_PROJECT / "target" / ".philos-build-ok").unlink(missing_ok=True)
    return _build_maven(NEO4J_PROJECT, "Neo4jTestServer", "neo4j-*.jar", "the Neo4j test server")


def build_opensearch(force: bool = False) -> Path:
    """Compile the OpenSearch launcher and copy its jars (Maven), unless up to date."""
    if force:
        (OPENSEARCH_PROJECT / "target" / ".philos-build-ok").unlink(missing_ok=True)
    return _build_maven(
        OPENSEARCH_PROJECT,
        "OpenSearchTestServer",
        "opensearch-2*.jar",
        "the OpenSearch test server",
    )


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
