"""Philos against PostGraphile, same data, same database, same core, one command.

    python -m bench.run            # or: python bench/run.py, or: make bench
    python -m bench.run --help     # sizes, durations, pinning, cache TTL, which queries

Starts a throwaway PostgreSQL 15 cluster (``tests/services/servers.py``, with
pg_stat_statements), creates Philos's schema through Philos, loads a generated dataset
(``bench/dataset.py``), then runs Philos (uvicorn, uvloop, httptools, one worker) and
PostGraphile v4 (one Node process) one after the other, each pinned with ``taskset`` to the
same core, and drives each with ``wrk`` pinned to another core. For every query of
``bench/queries.py`` and mode (cold, hot) it reports req/s, p50/p99 latency, SQL statements per
request (pg_stat_statements, reset before each run) and the server's RSS, writes a markdown
table to ``bench/results/<date>-<git-sha>.md`` and prints ``ratio philos/postgraphile`` lines.

``--profile a`` instead runs Philos alone under pyinstrument on query (a) and writes the
profile next to the results. See docs/benchmarks.md.
"""

# The harness exists to start processes (servers, wrk, psql, git) with arguments it builds.
# ruff: noqa: S603, S607

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import (
    DatasetSpec,
    generate,
    integrity,
    load,
)
from bench.queries import QUERIES, SERVERS, Cycle, Pool, Shape, build_pool
from tests.services.servers import PostgresServer, ServerError, free_port

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
WRK_SCRIPT = BENCH / "wrk.lua"
POSTGRAPHILE_CLI = BENCH / "node_modules" / "postgraphile" / "cli.js"
LOOPBACK = "127.0.0.1"
MODES = ("cold", "hot")
READY_TIMEOUT = 90.0
VERIFY_SAMPLES = 4


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or misbehaved; the message says what."""


# --- options -------------------------------------------------------------------------------


@dataclass
class Options:
    concepts: int
    theses_per_concept: int
    arguments_per_thesis: int
    relations_per_concept: int
    seed: int
    duration: float
    warmup: float
    connections: int
    cache_ttl: str | None
    server_cpu: int
    client_cpu: int
    postgres_cpus: str
    queries: list[str]
    modes: list[str]
    servers: list[str]
    results_dir: Path
    write: bool
    profile: str | None
    sequential: bool

    @property
    def shape(self) -> Shape:
        return Shape(
            theses_per_concept=self.theses_per_concept,
            relations_per_concept=self.relations_per_concept,
            seed=self.seed,
        )

    @property
    def spec(self) -> DatasetSpec:
        return DatasetSpec(
            concepts=self.concepts,
            theses_per_concept=self.theses_per_concept,
            arguments_per_thesis=self.arguments_per_thesis,
            relations_per_concept=self.relations_per_concept,
            seed=self.seed,
        )


def _csv(choices: Sequence[str]) -> Any:
    def parse(raw: str) -> list[str]:
        items = [part.strip() for part in raw.split(",") if part.strip()]
        bad = [item for item in items if item not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"{raw!r}: choose a comma list from {', '.join(choices)}"
            )
        return [c for c in choices if c in items]

    return parse


def parse_args(argv: Sequence[str] | None = None) -> Options:
    cpus = sorted(os.sched_getaffinity(0))
    server_default = cpus[0]
    client_default = cpus[1] if len(cpus) > 1 else cpus[0]
    p = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Philos vs PostGraphile on a generated dataset (see docs/benchmarks.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = p.add_argument_group("dataset")
    data.add_argument("--concepts", type=int, default=1000, help="concepts to generate")
    data.add_argument("--theses-per-concept", type=int, default=5, help="theses per concept")
    data.add_argument("--arguments-per-thesis", type=int, default=2, help="arguments per thesis")
    data.add_argument(
        "--relations-per-concept", type=int, default=3, help="outgoing relations per concept"
    )
    data.add_argument("--seed", type=int, default=7, help="RNG seed of the dataset and pools")
    load_ = p.add_argument_group("load")
    load_.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    load_.add_argument("--warmup", type=float, default=2.0, help="seconds before each run")
    load_.add_argument("--connections", type=int, default=8, help="wrk connections")
    load_.add_argument(
        "--queries", type=_csv(list(QUERIES)), default="a,b,c,d", help="comma list of a,b,c,d"
    )
    load_.add_argument("--modes", type=_csv(MODES), default="cold,hot", help="comma list")
    load_.add_argument(
        "--servers", type=_csv(SERVERS), default="philos,postgraphile", help="comma list"
    )
    pin = p.add_argument_group("pinning (taskset)")
    pin.add_argument("--server-cpu", type=int, default=server_default, help="both servers' core")
    pin.add_argument("--client-cpu", type=int, default=client_default, help="wrk's core")
    pin.add_argument(
        "--postgres-cpus", default=None, help="PostgreSQL's cores; None = the client core"
    )
    p.add_argument(
        "--cache-ttl",
        default=None,
        help="PHILOS_CACHE_TTL for Philos; None leaves it unset (the product default)",
    )
    load_.add_argument(
        "--sequential",
        action="store_true",
        help="run all of Philos's measurements, then all of PostGraphile's (otherwise both "
        "servers stay up and take turns per query and mode, one under load at a time)",
    )
    p.add_argument("--results-dir", type=Path, default=RESULTS, help="where tables go")
    p.add_argument("--no-write", action="store_true", help="print only; write no results file")
    p.add_argument(
        "--profile",
        metavar="QUERY[:MODE]",
        default=None,
        help="run Philos alone under pyinstrument on one query (e.g. a or a:hot)",
    )

    a = p.parse_args(argv)
    if a.duration <= 0 or a.warmup < 0 or a.connections < 1:
        p.error("--duration must be > 0, --warmup >= 0, --connections >= 1")
    return Options(
        concepts=a.concepts,
        theses_per_concept=a.theses_per_concept,
        arguments_per_thesis=a.arguments_per_thesis,
        relations_per_concept=a.relations_per_concept,
        seed=a.seed,
        duration=a.duration,
        warmup=a.warmup,
        connections=a.connections,
        cache_ttl=a.cache_ttl,
        server_cpu=a.server_cpu,
        client_cpu=a.client_cpu,
        postgres_cpus=a.postgres_cpus or str(a.client_cpu),
        queries=a.queries,
        modes=a.modes,
        servers=a.servers,
        results_dir=a.results_dir,
        write=not a.no_write,
        profile=a.profile,
        sequential=a.sequential,
    )


# --- small helpers ---------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _cpu_list(spec: str) -> set[int]:
    cpus: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        elif part.strip():
            cpus.add(int(part))
    return cpus


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def pin_tree(pid: int, cpus: set[int]) -> int:
    """Pin ``pid`` and its current children; later children inherit. Returns how many."""
    pinned = 0
    for target in [pid, *_children(pid)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.sched_setaffinity(target, cpus)
            pinned += 1
    return pinned


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB, from /proc/PID/status."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def wait_idle(pid: int, timeout: float = 30.0) -> None:
    """Wait until ``pid`` has used (almost) no CPU for 0.3 s: its queue is drained."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = cpu_seconds(pid)
        if now - last <= 0.02:
            return
        last = now


def post_json(url: str, body: bytes, timeout: float = 10.0) -> Any:
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1 only)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def _run_text(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""


def loadavg() -> str:
    """The machine's 1/5/15-minute load averages: other work competes for the same cores."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def git_info() -> tuple[str, bool]:
    sha = _run_text(["git", "-C", str(ROOT), "rev-parse", "--short=10", "HEAD"])
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "philos", "pyproject.toml"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sha or "unknown", bool(status.stdout.strip())


def require_tools(opts: Options) -> None:
    missing = [tool for tool in ("taskset",) if shutil.which(tool) is None]
    if shutil.which("wrk") is None:
        missing.append("wrk (Debian: apt-get install wrk)")
    if "postgraphile" in opts.servers and opts.profile is None and shutil.which("node") is None:
        missing.append("node (Node.js 20)")
    if missing:
        raise BenchError("missing tools: " + ", ".join(missing))
    available = os.sched_getaffinity(0)
    wanted = {opts.server_cpu, opts.client_cpu} | _cpu_list(opts.postgres_cpus)
    if not wanted <= available:
        raise BenchError(f"CPUs {sorted(wanted - available)} are not available (have {available})")
    if opts.server_cpu == opts.client_cpu:
        log("warning: server and load generator share a core; numbers will be lower")


def ensure_postgraphile() -> str:
    """``npm ci`` in bench/ when node_modules is missing or older than the lock file."""
    lock = BENCH / "package-lock.json"
    stamp = BENCH / "node_modules" / ".package-lock.json"
    if (
        not POSTGRAPHILE_CLI.exists()
        or not stamp.exists()
        or stamp.stat().st_mtime < lock.stat().st_mtime
    ):
        npm = shutil.which("npm")
        if npm is None:
            raise BenchError("npm is needed to install PostGraphile into bench/node_modules")
        log("installing PostGraphile into bench/node_modules (npm ci)")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BENCH,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchError(f"npm ci failed in bench/:\n{proc.stdout}\n{proc.stderr}")
    manifest = json.loads((POSTGRAPHILE_CLI.parent / "package.json").read_text())
    return str(manifest["version"])


# --- servers under test ---------------------------------------------------------------------


@dataclass
class ServerUnderTest:
    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    ready_path: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        probe = json.dumps({"query": "{ __typename }"}).encode()
        while True:
            if self.proc.poll() is not None:
                raise BenchError(self._failure(f"{self.name} exited with {self.proc.returncode}"))
            try:
                answer = post_json(self.url, probe, timeout=2.0)
                if answer.get("data", {}).get("__typename") == "Query":
                    return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise BenchError(self._failure(f"{self.name} not ready in {READY_TIMEOUT:.0f}s"))
            time.sleep(0.2)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def _failure(self, message: str) -> str:
        try:
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            tail = "<no log>"
        return f"{message}\n--- last lines of {self.log_path} ---\n{tail}"


def philos_server(
    opts: Options, database_url: str, workdir: Path, profile_out: Path | None = None
) -> ServerUnderTest:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "PHILOS_SEED_ON_START": "false",
            "PHILOS_ENV": "production",
            "PHILOS_DATA_DIR": str(workdir / "philos-data"),
            "PHILOS_LOG_LEVEL": "WARNING",
            "JWT_SECRET": secrets.token_urlsafe(48),
            # Per-IP/per-user rate limits guard a public deployment; one load generator on
            # loopback is a single client by design (PostGraphile has no such limit).
            "PHILOS_RATE_LIMIT_IP": "0",
            "PHILOS_RATE_LIMIT_USER": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PHILOS_CACHE_TTL", None)
    if opts.cache_ttl is not None:
        env["PHILOS_CACHE_TTL"] = opts.cache_ttl
    uvicorn = [
        "-m",
        "uvicorn",
        "philos.bootstrap:serve_app" if profile_out is None else "bench.profiled_app:create_app",
        "--factory",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if profile_out is not None:
        env["BENCH_PROFILE_OUT"] = str(profile_out)
    cmd = ["taskset", "-c", str(opts.server_cpu), sys.executable, *uvicorn]
    return ServerUnderTest("philos", cmd, env, port, workdir / "philos.log", "/graphql")


def postgraphile_server(opts: Options, database_url: str, workdir: Path) -> ServerUnderTest:
    port = free_port()
    env = dict(os.environ)
    env["NODE_ENV"] = "production"
    cmd = [
        "taskset",
        "-c",
        str(opts.server_cpu),
        shutil.which("node") or "node",
        str(POSTGRAPHILE_CLI),
        "--connection",
        database_url,
        "--schema",
        "public",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--simple-collections",
        "both",
        "--disable-query-log",
        "--disable-graphiql",
    ]
    return ServerUnderTest("postgraphile", cmd, env, port, workdir / "postgraphile.log", "/graphql")


# --- statements ----------------------------------------------------------------------------


class StatementCounter:
    """SQL statements run by the servers' role, from pg_stat_statements."""

    def __init__(self, pg: PostgresServer) -> None:
        self.pg = pg
        self.enabled = bool(pg.pg_stat_statements)
        self._where = (
            "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "JOIN pg_database d ON d.oid = s.dbid "
            f"WHERE r.rolname = '{pg.role}' AND d.datname = current_database() "
            "AND s.query NOT ILIKE '%pg_stat_statements%'"
        )

    def reset(self) -> None:
        if self.enabled:
            self.pg.psql("SELECT pg_stat_statements_reset()", database=self.pg.database)

    def read(self) -> StatementTotals:
        """Totals since the last reset, and the statements by calls."""
        if not self.enabled:
            return StatementTotals(0, 0, 0.0, [])
        totals = self.pg.psql(
            "SELECT coalesce(sum(s.calls), 0)::bigint || '|' || coalesce(sum(s.calls) "
            "FILTER (WHERE s.query ~* '^\\s*(select|with)\\M'), 0)::bigint || '|' || "
            "coalesce(sum(s.total_exec_time), 0)::float8 " + self._where,
            database=self.pg.database,
        )
        total, selects, exec_ms = totals.split("|")
        listing = self.pg.psql(
            "SELECT coalesce(json_agg(json_build_object('calls', s.calls, 'ms', "
            "round(s.total_exec_time::numeric, 1), 'query', "
            "left(regexp_replace(s.query, '\\s+', ' ', 'g'), 400)) ORDER BY s.calls DESC), "
            "'[]') " + self._where,
            database=self.pg.database,
        )
        return StatementTotals(int(total), int(selects), float(exec_ms), json.loads(listing))


@dataclass
class StatementTotals:
    statements: int
    selects: int
    exec_ms: float
    top: list[dict[str, Any]]


# --- load generation -------------------------------------------------------------------------


@dataclass
class Measurement:
    server: str
    query: str
    mode: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    first_error: str
    #: requests the server executed: wrk's completed ones plus one in flight per connection
    executed: int
    cpu_seconds: float
    client_cpu_seconds: float
    statements: int | None
    selects: int | None
    db_exec_ms: float | None
    rss_kib: int
    hwm_kib: int
    #: distinct requests the run could send (1 when hot)
    pool: int
    warmup_requests: int
    #: measured cold requests that repeated an earlier one (of the warm-up or the run)
    repeats: int
    top_statements: list[dict[str, Any]] = field(default_factory=list)

    def _per_request(self, value: float | None) -> float | None:
        return None if value is None or not self.executed else value / self.executed

    @property
    def sql_per_request(self) -> float | None:
        return self._per_request(self.statements)

    @property
    def selects_per_request(self) -> float | None:
        return self._per_request(self.selects)

    @property
    def cpu_ms_per_request(self) -> float | None:
        return self._per_request(self.cpu_seconds * 1000)

    @property
    def db_ms_per_request(self) -> float | None:
        return self._per_request(self.db_exec_ms)

    @property
    def core_share(self) -> float:
        """Server CPU time ÷ wall time of the run: near 1.0 means it had its core to itself
        and was CPU-bound; well below, it waited (for the database, or for other processes
        on its core)."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def client_share(self) -> float:
        """wrk's CPU time ÷ wall time: near 1.0 means the load generator, not the server,
        set the pace."""
        return self.client_cpu_seconds / self.seconds if self.seconds else 0.0


def run_wrk(
    opts: Options,
    url: str,
    bodies: Path,
    cycle: str,
    start: int,
    mode: str,
    seconds: float,
) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        str(opts.client_cpu),
        "wrk",
        "-t1",
        f"-c{opts.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        str(bodies),
        cycle,
        str(start),
        mode,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result: dict[str, Any] = json.loads(line[len("BENCH_JSON ") :])
            result["client_cpu_seconds"] = (after.ru_utime - before.ru_utime) + (
                after.ru_stime - before.ru_stime
            )
            return result
    raise BenchError(
        f"wrk gave no result (exit {proc.returncode}): {' '.join(cmd)}\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )


def count_repeats(pool: int, warmup: int, measured: int) -> int:
    """Measured cold requests equal to an earlier one: the warm-up sent requests
    ``pool//2 …`` and the run ``0 …``, both modulo ``pool`` (see wrk.lua)."""
    start = pool // 2
    if warmup + measured <= pool - start and measured <= start:
        return 0
    seen = {(start + i) % pool for i in range(min(warmup, pool))}
    repeats = 0
    for i in range(measured):
        index = i % pool
        if index in seen:
            repeats += 1
        else:
            seen.add(index)
    return repeats


def write_requests(
    workdir: Path, server: str, key: str, mode: str, pool: Pool, cycle: Cycle
) -> tuple[Path, str, int]:
    """The wrk inputs of one run: (bodies file, cycle argument, distinct requests)."""
    query = QUERIES[key]
    bodies = workdir / f"{server}-{key}-{mode}.lines"
    if mode == "hot":
        bodies.write_bytes(query.body(server, pool.hot, cycle[0]) + b"\n")
        return bodies, "range:0:0", 1
    with bodies.open("w") as fh:
        for value in pool.lines:
            fh.write(query.templates[server](value) + "\n")
    values = workdir / f"{server}-{key}-cycle.lines"
    if cycle.values:
        values.write_text("\n".join(cycle.values) + "\n")
    return bodies, cycle.wrk_arg(str(values)), pool.capacity(cycle)


def measure(
    opts: Options,
    target: ServerUnderTest,
    key: str,
    mode: str,
    pool: Pool,
    counter: StatementCounter,
    workdir: Path,
) -> Measurement:
    cycle = QUERIES[key].cycles[target.name](opts.shape)
    bodies, cycle_arg, distinct = write_requests(workdir, target.name, key, mode, pool, cycle)
    warmup_requests = 0
    if opts.warmup > 0:  # cold: start the warm-up far from where the measured run starts
        warm = run_wrk(opts, target.url, bodies, cycle_arg, distinct // 2, mode, opts.warmup)
        warmup_requests = int(warm["requests"]) + opts.connections
    wait_idle(target.pid)  # requests left in flight by the warm-up finish first
    counter.reset()
    cpu_before = cpu_seconds(target.pid)
    raw = run_wrk(opts, target.url, bodies, cycle_arg, 0, mode, opts.duration)
    wait_idle(target.pid)  # ...and so do the ones in flight when wrk stopped
    cpu = cpu_seconds(target.pid) - cpu_before
    totals = counter.read()
    memory = memory_kib(target.pid)
    seconds = raw["duration_us"] / 1e6
    errors = int(raw["graphql_errors"]) + sum(
        int(raw[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return Measurement(
        server=target.name,
        query=key,
        mode=mode,
        requests=int(raw["requests"]),
        seconds=seconds,
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=errors,
        first_error=str(raw.get("first_error", "")),
        executed=int(raw["requests"]) + opts.connections,
        cpu_seconds=cpu,
        client_cpu_seconds=float(raw["client_cpu_seconds"]),
        statements=totals.statements if counter.enabled else None,
        selects=totals.selects if counter.enabled else None,
        db_exec_ms=totals.exec_ms if counter.enabled else None,
        rss_kib=memory.get("VmRSS", 0),
        hwm_kib=memory.get("VmHWM", 0),
        pool=distinct,
        warmup_requests=warmup_requests,
        repeats=count_repeats(distinct, warmup_requests, int(raw["requests"]) + opts.connections)
        if mode == "cold"
        else 0,
        top_statements=totals.top[:8],
    )


def measure_all(
    opts: Options,
    targets: Sequence[ServerUnderTest],
    pools: dict[str, Pool],
    counter: StatementCounter,
    workdir: Path,
) -> list[Measurement]:
    """Every query and mode on every target, one target under load at a time; for each query
    and mode the targets take turns, so drifting background load hits them alike."""
    results = []
    for key in opts.queries:
        for mode in opts.modes:
            for target in targets:
                m = measure(opts, target, key, mode, pools[key], counter, workdir)
                results.append(m)
                log(
                    f"{target.name:12} ({key}) {mode:4}: {m.rps:8,.0f} req/s  "
                    f"p50 {m.p50_ms:6.1f} ms  p99 {m.p99_ms:6.1f} ms  "
                    f"SQL/req {_fmt(m.sql_per_request)}  CPU/req {_fmt(m.cpu_ms_per_request, 2)} ms"
                    f"  core {m.core_share:.0%}  wrk {m.client_share:.0%}"
                    f"  RSS {m.rss_kib / 1024:.0f} MiB"
                    + (f"  ERRORS {m.errors}: {m.first_error[:200]}" if m.errors else "")
                )
    return results


def verify(
    target: ServerUnderTest,
    pools: dict[str, Pool],
    opts: Options,
    reference: dict[tuple[str, int], Any],
) -> None:
    """Sample answers have data and no errors and equal the first server's; the cycle
    variable of cold requests leaves the answer unchanged."""
    for key in opts.queries:
        query, pool = QUERIES[key], pools[key]
        cycle = query.cycles[target.name](opts.shape)
        last = cycle[len(cycle) - 1]
        samples = [(pool.hot, cycle[0])]
        samples += [(value, last) for value in pool.lines[: VERIFY_SAMPLES - 1]]
        if key != "d":
            samples.append((pool.hot, last))  # must equal the hot answer
        answers = []
        for index, (value, cyc) in enumerate(samples):
            answer = post_json(target.url, query.body(target.name, value, cyc))
            what = f"{target.name}, query ({key}), {value!r} / {cyc}"
            if answer.get("errors") or not answer.get("data"):
                raise BenchError(f"{what}: errors: {json.dumps(answer)[:1500]}")
            if key == "c" and answer["data"].get("concept") is None:
                raise BenchError(f"{what}: no concept")
            if key in ("a", "b") and not answer["data"]["concepts"]["nodes"]:
                raise BenchError(f"{what}: no concepts")
            answers.append(answer)
            previous = reference.setdefault((key, index), answer)
            if previous is not answer and previous != answer:
                raise BenchError(
                    f"{what}: answers differently from the first server.\n"
                    f"first:  {json.dumps(previous)[:1500]}\n"
                    f"{target.name}: {json.dumps(answer)[:1500]}"
                )
        if key != "d" and answers[-1] != answers[0]:
            raise BenchError(
                f"{target.name}, query ({key}): the cold requests' cycle variable changes the "
                f"answer ({cycle[0]} vs {last}); cold and hot would measure different work"
            )


# --- reporting -------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio_lines(results: list[Measurement], opts: Options) -> list[str]:
    by = {(m.server, m.query, m.mode): m for m in results}
    lines = []
    for key in opts.queries:
        for mode in opts.modes:
            ours, theirs = by.get(("philos", key, mode)), by.get(("postgraphile", key, mode))
            if ours is None or theirs is None or not theirs.rps:
                continue
            cpu = (
                f"{ours.cpu_ms_per_request / theirs.cpu_ms_per_request:.1f}x"
                if ours.cpu_ms_per_request and theirs.cpu_ms_per_request
                else "n/a"
            )
            lines.append(
                f"({key}) {QUERIES[key].title}, {mode}: ratio philos/postgraphile: "
                f"{ours.rps / theirs.rps:.2f} (req/s {ours.rps:,.0f} vs {theirs.rps:,.0f}; "
                f"p99 {ours.p99_ms:.1f} vs {theirs.p99_ms:.1f} ms; server CPU per request "
                f"{cpu})"
            )
    return lines


def markdown(
    results: list[Measurement], opts: Options, meta: dict[str, str], peaks: dict[str, int]
) -> str:
    by = {(m.server, m.query, m.mode): m for m in results}
    rows = [
        "| query | mode | server | req/s | p50 ms | p99 ms | SQL/req | of which SELECT | "
        "DB ms/req | server CPU ms/req | server core % | wrk core % | requests | RSS MiB | "
        "errors | req/s ratio |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key in opts.queries:
        for mode in opts.modes:
            for server in opts.servers:
                m = by.get((server, key, mode))
                if m is None:
                    continue
                ratio = ""
                other = by.get(("postgraphile", key, mode))
                if server == "philos" and other is not None and other.rps:
                    ratio = f"**{m.rps / other.rps:.2f}**"
                rows.append(
                    f"| ({key}) {QUERIES[key].title} | {mode} | {server} | {m.rps:,.0f} | "
                    f"{m.p50_ms:.1f} | {m.p99_ms:.1f} | {_fmt(m.sql_per_request)} | "
                    f"{_fmt(m.selects_per_request)} | {_fmt(m.db_ms_per_request, 2)} | "
                    f"{_fmt(m.cpu_ms_per_request, 2)} | {m.core_share:.0%} | "
                    f"{m.client_share:.0%} | {m.executed:,}"
                    + (f" ({m.repeats:,} repeats)" if m.repeats else "")
                    + f" | {m.rss_kib / 1024:.0f} | "
                    f"{m.errors} | {ratio} |"
                )
    per_query: dict[str, dict[str, int]] = {}
    for m in results:
        if m.mode == "cold":
            per_query.setdefault(m.query, {})[m.server] = m.pool
    pools = "; ".join(
        f"({key}) {next(iter(sizes.values())):,}"
        if len(set(sizes.values())) == 1
        else f"({key}) " + " / ".join(f"{server} {n:,}" for server, n in sizes.items())
        for key, sizes in per_query.items()
    )
    meta_lines = "\n".join(f"- {k}: {v}" for k, v in meta.items())
    peak_lines = ", ".join(f"{s} {kib / 1024:.0f} MiB" for s, kib in peaks.items())
    summary = "\n".join(ratio_lines(results, opts))
    return f"""# Philos vs PostGraphile — {meta["date"]} @ {meta["git"]}

{rows[0]}
{chr(10).join(rows[1:])}

```text
{summary}
```

req/s ratio = Philos req/s ÷ PostGraphile req/s (same run, same data, same core).
Per-request columns divide by the requests the server executed (wrk's completed requests plus
the one still in flight on each connection when wrk stopped, which the server finishes and
the harness waits for). SQL/req = statements the servers' role ran (pg_stat_statements,
BEGIN/ROLLBACK included), "of which SELECT" counts SELECT/WITH only, DB ms/req = their
execution time inside PostgreSQL. Server CPU ms/req = user+system CPU time of the server
process (/proc/PID/stat), the number least disturbed by other load on the machine; core % =
that CPU time ÷ the run's wall time (near 100%: the server had its core and was CPU-bound;
well below: it waited on the database or lost its core to other processes); wrk core % is the
same for the load generator (near 100%: the client, not the server, set the pace). RSS = VmRSS
of the server process after the run; peak (VmHWM) over the whole session: {peak_lines}.
Cold requests do not repeat while the dataset allows; distinct cold requests per run:
{pools}. "repeats" = measured cold requests that repeated an earlier one (a cache may
have answered those; (c) has only one distinct request per concept).

## Setup

{meta_lines}
"""


def collect_meta(
    opts: Options, pg: PostgresServer, postgraphile_version: str, sha: str, dirty: bool
) -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "?"

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    spec = opts.spec
    expected = spec.expected
    pyver = platform.python_version()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1/5/15 min) at start": loadavg(),
        "git": sha + (" (philos/ had uncommitted changes)" if dirty else ""),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}",
        "dataset": (
            f"{expected['concepts']:,} concepts, {expected['theses']:,} theses "
            f"({spec.theses_per_concept}/concept, {spec.arguments_per_thesis} arguments each), "
            f"{expected['relations']:,} relations ({spec.relations_per_concept}/concept), "
            f"seed {spec.seed}"
        ),
        "PostgreSQL": pg.psql("SHOW server_version")
        + f", pg_stat_statements {'on' if pg.pg_stat_statements else 'OFF'}"
        + f", pinned to CPU {opts.postgres_cpus}",
        "Philos": (
            f"Python {pyver}, uvicorn {version('uvicorn')} (uvloop {version('uvloop')}, "
            f"httptools {version('httptools')}, 1 worker, no access log), strawberry-graphql "
            f"{version('strawberry-graphql')}, SQLAlchemy {version('sqlalchemy')}, asyncpg "
            f"{version('asyncpg')}; PHILOS_CACHE_TTL="
            f"{opts.cache_ttl if opts.cache_ttl is not None else 'unset (product default)'}"
        ),
        "PostGraphile": (
            f"{postgraphile_version} on Node {_run_text(['node', '--version'])}, one process, "
            "NODE_ENV=production, --simple-collections both --disable-query-log"
        ),
        "pinning": (
            f"server on CPU {opts.server_cpu}, wrk on CPU {opts.client_cpu}, "
            f"PostgreSQL on CPU {opts.postgres_cpus}"
        ),
        "load": (
            f"{' '.join(_run_text(['wrk', '-v']).split()[:2])}, 1 thread, "
            f"{opts.connections} connections, "
            f"{opts.warmup:g} s warm-up then {opts.duration:g} s measured per query and mode"
        ),
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
    }


# --- main ------------------------------------------------------------------------------------


@contextlib.contextmanager
def throwaway_postgres(opts: Options) -> Iterator[PostgresServer]:
    pg = PostgresServer()
    try:
        started = time.monotonic()
        pg.start()
        pid = pg.pid
        assert pid is not None
        pinned = pin_tree(pid, _cpu_list(opts.postgres_cpus))
        log(
            f"PostgreSQL {pg.url} up in {time.monotonic() - started:.1f}s "
            f"(pg_stat_statements {'on' if pg.pg_stat_statements else 'OFF'}; "
            f"{pinned} processes pinned to CPU {opts.postgres_cpus})"
        )
        yield pg
    finally:
        pg.cleanup()


def prepare_data(opts: Options, pg: PostgresServer) -> dict[str, Pool]:
    spec = opts.spec
    data = generate(spec)
    counts = asyncio.run(load(pg.url, spec, data))
    log(
        f"loaded {counts['concepts']:,.0f} concepts, {counts['theses']:,.0f} theses, "
        f"{counts['relations']:,.0f} relations in {counts['seconds']:.1f}s"
    )
    report = asyncio.run(integrity(pg.url, spec))
    broken = {k: v for k, v in report.items() if k not in spec.expected and v}
    if broken:
        raise BenchError(f"the loaded dataset is inconsistent: {broken}")
    return {key: build_pool(key, data.slugs, spec.seed) for key in QUERIES}


def run_profile(opts: Options) -> int:
    key, _, mode = (opts.profile or "").partition(":")
    mode = mode or "cold"
    if key not in QUERIES or mode not in MODES:
        raise BenchError(f"--profile {opts.profile!r}: use QUERY[:MODE], e.g. a or a:hot")
    if importlib.util.find_spec("pyinstrument") is None:
        raise BenchError("--profile needs pyinstrument: .venv/bin/pip install pyinstrument")
    sha, _ = git_info()
    opts.results_dir.mkdir(parents=True, exist_ok=True)
    out = opts.results_dir / f"profile-{datetime.now(UTC):%Y-%m-%d}-{sha}-{key}-{mode}.txt"
    with throwaway_postgres(opts) as pg, tempfile.TemporaryDirectory(prefix="philos-bench-") as tmp:
        pools = prepare_data(opts, pg)
        workdir = Path(tmp)
        target = philos_server(opts, pg.url, workdir, profile_out=out)
        try:
            target.start()
            counter = StatementCounter(pg)
            m = measure(opts, target, key, mode, pools[key], counter, workdir)
        finally:
            target.stop(signal.SIGTERM, timeout=60)
    log(
        f"profiled ({key}) {mode}: {m.rps:,.0f} req/s under the profiler, "
        f"{_fmt(m.sql_per_request)} SQL/req, {m.errors} errors"
        + (f" (first: {m.first_error[:200]})" if m.errors else "")
        + f"; profile in {out}"
    )
    return 0


def run(opts: Options) -> int:
    require_tools(opts)
    if opts.profile:
        return run_profile(opts)
    postgraphile_version = ensure_postgraphile() if "postgraphile" in opts.servers else "-"
    sha, dirty = git_info()  # the code the servers load now, whatever HEAD does meanwhile
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{sha}"
    results: list[Measurement] = []
    peaks: dict[str, int] = {}
    with throwaway_postgres(opts) as pg, tempfile.TemporaryDirectory(prefix="philos-bench-") as tmp:
        workdir = Path(tmp)
        pools = prepare_data(opts, pg)
        meta = collect_meta(opts, pg, postgraphile_version, sha, dirty)
        counter = StatementCounter(pg)
        reference: dict[tuple[str, int], Any] = {}
        targets: dict[str, ServerUnderTest] = {}
        try:
            for server in opts.servers:
                target = (
                    philos_server(opts, pg.url, workdir)
                    if server == "philos"
                    else postgraphile_server(opts, pg.url, workdir)
                )
                targets[server] = target
                log(f"starting {server} on CPU {opts.server_cpu}")
                target.start()
                verify(target, pools, opts, reference)
                if opts.sequential:
                    results.extend(measure_all(opts, [target], pools, counter, workdir))
                    peaks[server] = memory_kib(target.pid).get("VmHWM", 0)
                    target.stop()
            if not opts.sequential:
                running = [targets[s] for s in opts.servers]
                results.extend(measure_all(opts, running, pools, counter, workdir))
                peaks.update({t.name: memory_kib(t.pid).get("VmHWM", 0) for t in running})
        finally:
            for target in targets.values():
                target.stop()
        meta["load average (1/5/15 min) at end"] = loadavg()
    print()
    for line in ratio_lines(results, opts):
        print(line)
    report = markdown(results, opts, meta, peaks)
    if opts.write:
        opts.results_dir.mkdir(parents=True, exist_ok=True)
        path = opts.results_dir / f"{stem}.md"
        path.write_text(report)
        raw = opts.results_dir / f"{stem}.raw"
        raw.write_text(json.dumps([asdict(m) for m in results], indent=1) + "\n")
        print(f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if any(m.errors for m in results):
        print("some requests failed; see the errors column", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    try:
        return run(opts)
    except (BenchError, ServerError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
