"""Replicas behind an ingress, for real on one machine.

nginx (Debian `nginx-light`, config in `nginx_replicas.conf`) runs as the ingress in front of
three `philos serve` replicas that share one PostgreSQL database and one Redis. A bounded stream
of GraphQL queries goes through nginx while

1. one replica is SIGKILLed mid-stream: no request fails, and the killed replica was really
   serving before (each response names its replica in nginx's `X-Upstream` header);
2. every replica in turn gets SIGTERM, drains, exits and is started again on the same port (a
   rolling update): no request fails, and each restarted replica serves again before the next
   one goes.

"Fails" means anything but HTTP 200 with exactly the reference answer (no `errors`). Take
`non_idempotent` out of the config's `proxy_next_upstream` and the kill fails the requests that
were in flight on the victim (nginx answers 502): the retries this test relies on are real. Every
process here is started by this module and stopped by PID; a failure prints nginx's error log
and the replicas' log tails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from tests.services.servers import free_port, port_is_open, tail_file

HERE = Path(__file__).resolve().parent
NGINX_TEMPLATE = HERE / "nginx_replicas.conf"
REPLICAS = 3
WORKERS = 4  # concurrent clients in the stream
JWT_SECRET = "replicas-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
REDIS_DB = 9  # a Redis database of its own on the shared server, flushed at the start
LOG_TAIL = 40

# Read-only queries, answered the same by every replica (one database behind them all).
QUERIES: dict[str, str] = {
    "Concepts": "query Concepts { concepts(first: 5, orderBy: ERA_ASC) "
    "{ totalCount nodes { slug name eraFrom } } }",
    "Dasein": 'query Dasein { concept(slug: "dasein") '
    "{ name relations { type weight target { name } } } }",
    "Denials": "query Denials { theses(filter: {stance: DENIES}, first: 3) "
    "{ totalCount nodes { statement concept { name } } } }",
    "Neighbours": 'query Neighbours { concept(slug: "categorical-imperative") '
    "{ neighbours(depth: 2) { distance concept { name } } } }",
}


# --- processes ---------------------------------------------------------------------------------


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for ``proc``; SIGKILL it (by PID) if it has not exited within ``timeout``."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal(proc, signal.SIGKILL)
        return proc.wait(timeout=10)


class Replica:
    """One `philos serve` on a fixed port; restarts reuse the port and append to the log."""

    def __init__(self, name: str, port: int, env: dict[str, str], base: Path) -> None:
        self.name = name
        self.port = port
        self.env = env
        self.log = base / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        """How nginx's `$upstream_addr` names this replica."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        if port_is_open(self.port):
            pytest.fail(f"{self.name}: port {self.port} is taken by another process")
        with self.log.open("ab") as out:
            out.write(f"=== test: starting {self.name} on {self.addr} ===\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "philos", "serve", "--host", "127.0.0.1", "--port", str(self.port)),
                    *("--graceful-timeout", "10"),
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with {self.proc.returncode} while starting:\n"
                    + tail_file(self.log, LOG_TAIL)
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://{self.addr}/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        pytest.fail(
            f"{self.name} not ready within {timeout:.0f}s:\n" + tail_file(self.log, LOG_TAIL)
        )

    def kill(self) -> int:
        """SIGKILL, as an OOM kill or a lost node would end it."""
        assert self.proc is not None
        _signal(self.proc, signal.SIGKILL)
        return self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM, as Kubernetes stops a pod: uvicorn drains in-flight requests and exits."""
        assert self.proc is not None
        _signal(self.proc, signal.SIGTERM)
        return _reap(self.proc, timeout)

    def stop(self) -> None:
        if self.proc is not None:
            _signal(self.proc, signal.SIGTERM)
            _reap(self.proc, 15)


class Nginx:
    """nginx in the foreground (`daemon off`) with its own config, pid file, temp dirs, logs."""

    def __init__(self, base: Path, replicas: list[Replica]) -> None:
        self.prefix = base
        self.port = free_port()
        self.conf = base / "nginx.conf"
        self.error_log = base / "error.log"
        self.access_log = base / "access.log"
        self.output = base / "nginx.out"
        self.proc: subprocess.Popen[bytes] | None = None
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/bin/nginx") if Path(p).exists()), None
        )
        if binary is None:
            pytest.fail(
                "nginx not found: install it with `apt-get install -y nginx-light` "
                "(the CI script .ci/run installs it)"
            )
        self.binary = binary
        servers = "\n".join(
            f"        server {r.addr} max_fails=1 fail_timeout=2s;" for r in replicas
        )
        # As root the master would hand the workers to `nobody`, who cannot write the
        # root-owned temp dirs; run them as root (this nginx only listens on 127.0.0.1).
        user = "user root root;" if os.geteuid() == 0 else ""
        text = NGINX_TEMPLATE.read_text()
        for key, value in {
            "user": user,
            "prefix": str(base),
            "listen_port": str(self.port),
            "servers": servers,
        }.items():
            text = text.replace("{{" + key + "}}", value)
        assert "{{" not in text, "unfilled placeholder in the nginx template"
        self.conf.write_text(text)
        (base / "temp").mkdir(exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        check = subprocess.run(
            [*self._command(), "-t"], capture_output=True, text=True, timeout=30, check=False
        )
        if check.returncode != 0:
            pytest.fail(f"nginx -t rejected {self.conf}:\n{check.stderr}")
        with self.output.open("ab") as out:
            self.proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while not port_is_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("nginx did not start:\n" + self.diagnostics())
            time.sleep(0.05)

    def _command(self) -> list[str]:
        # -e: where nginx logs before it has read the config (Debian's build says stderr).
        conf, log = str(self.conf), str(self.error_log)
        return [self.binary, "-p", f"{self.prefix}/", "-c", conf, "-e", log]

    def version(self) -> str:
        out = subprocess.run(
            [self.binary, "-v"], capture_output=True, text=True, timeout=10, check=False
        )
        return (out.stderr or out.stdout).strip()

    def stop(self) -> None:
        if self.proc is not None:
            # SIGQUIT: graceful shutdown, the master stops its workers before it exits.
            _signal(self.proc, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # Our nginx runs in a session of its own: its process group is master+workers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def diagnostics(self) -> str:
        return (
            f"--- nginx error log {self.error_log} ---\n{tail_file(self.error_log, 60)}\n"
            f"--- nginx output ---\n{tail_file(self.output, 20)}\n"
            f"--- nginx access log {self.access_log} ---\n{tail_file(self.access_log, 20)}"
        )


# --- the query stream --------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    index: int
    query: str
    started: float
    finished: float
    status: int | None
    upstreams: tuple[str, ...]  # every replica nginx tried, the answering one last
    problem: str | None  # None: HTTP 200 with exactly the reference answer

    @property
    def served_by(self) -> str | None:
        return self.upstreams[-1] if self.upstreams else None

    @property
    def retried(self) -> bool:
        return len(self.upstreams) > 1


class Stream:
    """A bounded stream of GraphQL queries through nginx from ``WORKERS`` threads.

    Stops after ``limit`` requests, at ``time_cap`` seconds, or when the block ends. No client
    retries: every request counts once.
    """

    def __init__(
        self,
        url: str,
        reference: dict[str, Any],
        *,
        limit: int,
        time_cap: float,
        pause: float = 0.01,
    ) -> None:
        self.url = url
        self.reference = reference
        self.limit = limit
        self.time_cap = time_cap
        self.pause = pause
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self._issued = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._crashes: list[str] = []
        self._deadline = 0.0

    def __enter__(self) -> Stream:
        self._deadline = time.monotonic() + self.time_cap
        self._threads = [
            threading.Thread(target=self._worker, name=f"stream-{n}", daemon=True)
            for n in range(WORKERS)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def wait_finished(self) -> None:
        for thread in self._threads:
            thread.join(timeout=self.time_cap + 30)

    @property
    def timed_out(self) -> bool:
        return time.monotonic() > self._deadline

    def _next(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or self._issued >= self.limit or self.timed_out:
                return None
            self._issued += 1
            return self._issued - 1

    def _worker(self) -> None:
        names = list(QUERIES)
        try:
            with httpx.Client(base_url=self.url, timeout=20) as client:
                while (index := self._next()) is not None:
                    name = names[index % len(names)]
                    self._record(index, name, client)
                    time.sleep(self.pause)
        except Exception as exc:  # a bug in the stream itself must not look like a pass
            self._crashes.append(repr(exc))

    def _record(self, index: int, name: str, client: httpx.Client) -> None:
        started = time.monotonic()
        status: int | None = None
        upstreams: tuple[str, ...] = ()
        problem: str | None = None
        try:
            response = client.post("/graphql", json={"query": QUERIES[name]})
            status = response.status_code
            header = response.headers.get("x-upstream", "")
            upstreams = tuple(part.strip() for part in header.split(",") if part.strip())
            if status != 200:
                problem = f"HTTP {status}: {' '.join(response.text.split())[:200]}"
            else:
                body = response.json()
                if body != {"data": self.reference[name]}:
                    problem = f"unexpected body: {str(body)[:300]}"
        except (httpx.HTTPError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        result = Result(index, name, started, time.monotonic(), status, upstreams, problem)
        with self._lock:
            self.results.append(result)

    def snapshot(self) -> list[Result]:
        with self._lock:
            return list(self.results)

    def wait_for(self, what: str, predicate: Callable[[Result], bool], timeout: float) -> None:
        """Block until some result satisfies ``predicate`` (fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(predicate(r) for r in self.snapshot()):
                return
            if not any(t.is_alive() for t in self._threads):
                break
            time.sleep(0.02)
        pytest.fail(f"stream: {what} did not happen within {timeout:.0f}s")

    def check(self) -> list[Result]:
        """The results; fails the test if the stream itself broke or any request failed."""
        assert not self._crashes, f"stream worker crashed: {self._crashes}"
        results = sorted(self.snapshot(), key=lambda r: r.index)
        failed = [r for r in results if r.problem is not None]
        assert not failed, f"{len(failed)} of {len(results)} requests failed; first ones:\n" + (
            "\n".join(
                f"#{r.index} {r.query} via {', '.join(r.upstreams) or '-'}: {r.problem}"
                for r in failed[:10]
            )
        )
        return results


# --- fixtures ----------------------------------------------------------------------------------


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


@pytest.fixture(scope="module")
async def shared_stores(postgres_url: str, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh database on the session's PostgreSQL and a flushed Redis database: the state
    the replicas share, apart from the other tests' data."""
    name = f"philos_replicas_{uuid.uuid4().hex[:10]}"
    postgres_url = postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError as exc:
        await admin.close()
        pytest.fail(f"the PostgreSQL role of {postgres_url} needs CREATEDB for this test: {exc}")
    redis_db_url = _with_path(redis_url, f"/{REDIS_DB}")
    redis = Redis.from_url(redis_db_url)
    try:
        await redis.flushdb()
        yield _with_path(postgres_url, f"/{name}"), redis_db_url
    finally:
        await redis.flushdb()
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Cluster:
    def __init__(self, base: Path, database_url: str, redis_url: str) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PHILOS_")
            and k not in {"DATABASE_URL", "NEO4J_URI", "MONGODB_URI", "REDIS_URL"}
            and k not in {"ANTHROPIC_API_KEY", "JWT_SECRET"}
        }
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            JWT_SECRET=JWT_SECRET,  # one secret: a token from any replica works on all
            PHILOS_ENV="production",
            PHILOS_DATA_DIR=str(base),
            PHILOS_SEED_ON_START="false",  # seeded once below, not raced by three replicas
            PHILOS_RATE_LIMIT_IP="0",  # every request comes from 127.0.0.1 (nginx)
            PHILOS_LOG_LEVEL="WARNING",  # keep the log tails to what went wrong
        )
        self.base = base
        self.env = env
        self.replicas = [
            Replica(f"replica-{n}", free_port(), env, base) for n in range(1, REPLICAS + 1)
        ]
        self.nginx = Nginx(base, self.replicas)
        self.reference: dict[str, Any] = {}

    def seed(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "philos", "seed"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, f"philos seed failed:\n{out.stdout}\n{out.stderr}"

    def start(self) -> None:
        self.seed()
        for replica in self.replicas:
            replica.start()
        for replica in self.replicas:
            replica.wait_ready()
        self.nginx.start()
        first = self.replicas[0]
        for name, query in QUERIES.items():
            response = httpx.post(f"http://{first.addr}/graphql", json={"query": query}, timeout=10)
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            assert all(value for value in body["data"].values()), body
            self.reference[name] = body["data"]

    def stop(self) -> None:
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()

    def diagnostics(self) -> str:
        parts = [self.nginx.diagnostics()]
        for replica in self.replicas:
            parts.append(f"--- {replica.name} ({replica.addr}) log ---\n" + tail_file(replica.log))
        return "\n".join(parts)

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """On failure print nginx's error log and every replica's log tail (shown by pytest)."""
        try:
            yield
        except BaseException:
            print(self.diagnostics())
            raise

    def stream(self, *, limit: int, time_cap: float) -> Stream:
        return Stream(self.nginx.url, self.reference, limit=limit, time_cap=time_cap)

    def ensure_all_serving(self, timeout: float = 15.0) -> None:
        """Restart any stopped replica and wait until nginx routes requests to every one."""
        for replica in self.replicas:
            if not replica.running:
                replica.start()
                replica.wait_ready()
        pending = {r.addr for r in self.replicas}
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.nginx.url, timeout=10) as client:
            while pending and time.monotonic() < deadline:
                response = client.post("/graphql", json={"query": QUERIES["Concepts"]})
                pending.discard(response.headers.get("x-upstream", "").split(",")[-1].strip())
                time.sleep(0.05)
        assert not pending, f"nginx did not route to {sorted(pending)} within {timeout:.0f}s"


@pytest.fixture(scope="module")
def cluster(
    shared_stores: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    database_url, redis_url = shared_stores
    cluster = Cluster(tmp_path_factory.mktemp("replicas"), database_url, redis_url)
    try:
        with cluster.explained():
            cluster.start()
        yield cluster
    finally:
        cluster.stop()


# --- tests -------------------------------------------------------------------------------------


def test_nginx_is_the_ingress(cluster: Cluster) -> None:
    """Requests through nginx reach all three replicas, which share the seeded database."""
    with cluster.explained():
        cluster.ensure_all_serving()
        seen: Counter[str] = Counter()
        with httpx.Client(base_url=cluster.nginx.url, timeout=10) as client:
            for _ in range(12):
                response = client.post("/graphql", json={"query": QUERIES["Concepts"]})
                assert response.json() == {"data": cluster.reference["Concepts"]}
                seen[response.headers["x-upstream"]] += 1
        assert set(seen) == {r.addr for r in cluster.replicas}, seen
        assert cluster.reference["Concepts"]["concepts"]["totalCount"] >= 80
        print(f"{cluster.nginx.version()} in front of {dict(seen)}")


def test_killing_a_replica_mid_stream_fails_no_request(cluster: Cluster) -> None:
    with cluster.explained():
        cluster.ensure_all_serving()
        victim = cluster.replicas[1]
        with cluster.stream(limit=300, time_cap=30) as stream:
            stream.wait_for("100 answers", lambda r: r.index >= 100, timeout=20)
            assert victim.kill() == -signal.SIGKILL
            killed_at = time.monotonic()
            stream.wait_finished()
        results = stream.check()
        assert len(results) == 300, f"only {len(results)} of 300 requests within the time cap"

        before = Counter(r.served_by for r in results if r.finished < killed_at)
        after = [r for r in results if r.started > killed_at]
        assert before[victim.addr] >= 10, f"the victim served too little before the kill: {before}"
        assert len(after) >= 100
        # Nobody is answered by a dead process after the kill.
        assert all(r.served_by != victim.addr for r in after)
        # nginx did send the victim requests that it never answered (in flight at the kill, or
        # new ones it refused) and retried them on another replica instead of failing them.
        failed_over = [r for r in results if victim.addr in r.upstreams[:-1]]
        assert failed_over, "nginx never tried the killed replica: the test proved nothing"
        print(
            f"{len(results)} requests, 0 failed; before the kill {dict(before)}; "
            f"{len(failed_over)} failed over from the killed {victim.addr}"
        )
        assert {r.served_by for r in after} == {r.addr for r in cluster.replicas if r is not victim}


def test_rolling_restart_fails_no_request(cluster: Cluster) -> None:
    with cluster.explained():
        cluster.ensure_all_serving()
        with cluster.stream(limit=5000, time_cap=45) as stream:
            stream.wait_for("first answers", lambda r: r.index >= 20, timeout=10)
            for replica in cluster.replicas:
                code = replica.terminate()
                # uvicorn re-raises SIGTERM once drained, so a clean exit reads as -15.
                assert code in (0, -signal.SIGTERM), f"{replica.name} exited with {code}"
                replica.start()
                replica.wait_ready()
                back = time.monotonic()

                # The next replica goes only when this one is in rotation again (what a
                # Deployment's maxUnavailable 1 and a readiness probe do on Kubernetes).
                def serving_again(r: Result, addr: str = replica.addr, t: float = back) -> bool:
                    return r.started > t and r.served_by == addr

                stream.wait_for(f"{replica.name} serving again", serving_again, timeout=15)
            so_far = len(stream.snapshot())
            stream.wait_for("60 more answers", lambda r: r.index >= so_far + 60, timeout=10)
        results = stream.check()
        assert not stream.timed_out, "the rolling restart did not finish within the time cap"
        assert len(results) >= 200
        assert {r.served_by for r in results} == {r.addr for r in cluster.replicas}
        retried = Counter(r.upstreams[0] for r in results if r.retried)
        print(
            f"{len(results)} requests, 0 failed; retried on another replica, by first try: "
            f"{dict(retried)}"
        )
