"""Load generation with wrk, one measurement per server, query and mode, and the check that
both servers give the same answers.
"""

# It runs wrk with arguments it builds.
# ruff: noqa: S603

from __future__ import annotations

import json
import resource
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import neo4j_graphql
from bench.common import BENCH, BenchError, _fmt, cpu_seconds, log, memory_kib, post_json, wait_idle
from bench.database import StatementCounter
from bench.options import Options
from bench.queries import QUERIES, Cycle, Pool, Shape, Value, render
from bench.targets import ServerUnderTest

WRK_SCRIPT = BENCH / "wrk.lua"
VERIFY_SAMPLES = 4
#: at most this long for a server and its stores to finish what is in flight
IDLE_TIMEOUT = 120.0


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
    #: VmRSS right after the server started, before any request
    idle_rss_kib: int
    #: distinct requests the run could send (1 when hot)
    pool: int
    warmup_requests: int
    #: measured cold requests that repeated an earlier one (of the warm-up or the run)
    repeats: int
    top_statements: list[dict[str, Any]] = field(default_factory=list)
    #: CPU seconds of each of the server's processes (by part: the gateway, each subgraph)
    cpu_by_process: dict[str, float] = field(default_factory=dict)

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


def template(key: str, dialect: str) -> Callable[[Value], str]:
    """The request body template of query ``key`` in ``dialect``'s documents."""
    if dialect == neo4j_graphql.NAME:
        return lambda value: neo4j_graphql.template(key, value)
    return QUERIES[key].templates[dialect]


def cycle_of(key: str, dialect: str, shape: Shape) -> Cycle:
    if dialect == neo4j_graphql.NAME:
        return neo4j_graphql.cycle(key, shape)
    return QUERIES[key].cycles[dialect](shape)


def as_philos(dialect: str, answer: Any) -> Any:
    """An answer in Philos's shape (the peers' names are aliased already; the Neo4j GraphQL
    Library's ten relation lists are also joined into one)."""
    return neo4j_graphql.as_philos(answer) if dialect == neo4j_graphql.NAME else answer


def write_requests(
    workdir: Path, server: str, key: str, mode: str, pool: Pool, cycle: Cycle
) -> tuple[Path, str, int]:
    """The wrk inputs of one run: (bodies file, cycle argument, distinct requests)."""
    lines = template(key, server)
    bodies = workdir / f"{server}-{key}-{mode}.lines"
    if mode == "hot":
        bodies.write_bytes(render(lines(pool.hot), cycle[0]) + b"\n")
        return bodies, "range:0:0", 1
    with bodies.open("w") as fh:
        for value in pool.lines:
            fh.write(lines(value) + "\n")
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
    cycle = cycle_of(key, target.documents, opts.shape)
    register(target, key)  # again: the server may have been restarted since verify()
    bodies, cycle_arg, distinct = write_requests(workdir, target.documents, key, mode, pool, cycle)
    warmup_requests = 0
    if opts.warmup > 0:  # cold: start the warm-up far from where the measured run starts
        warm = run_wrk(opts, target.url, bodies, cycle_arg, distinct // 2, mode, opts.warmup)
        warmup_requests = int(warm["requests"]) + opts.connections
    # requests left in flight by the warm-up finish first (in the stores, too)
    wait_idle(target.pid, IDLE_TIMEOUT, target.store_pids)
    counter.reset(target.db_role or None)
    cpu_before = {name: cpu_seconds(pid) for name, pid in target.processes}
    raw = run_wrk(opts, target.url, bodies, cycle_arg, 0, mode, opts.duration)
    wait_idle(target.pid, IDLE_TIMEOUT, target.store_pids)  # ...and those left by wrk
    cpu_by_process = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in target.processes}
    cpu = sum(cpu_by_process.values())
    totals = counter.read()
    usage = [memory_kib(pid) for pid in target.pids]
    memory = {k: sum(u.get(k, 0) for u in usage) for k in ("VmRSS", "VmHWM")}
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
        idle_rss_kib=target.idle_rss_kib,
        pool=distinct,
        warmup_requests=warmup_requests,
        repeats=count_repeats(distinct, warmup_requests, int(raw["requests"]) + opts.connections)
        if mode == "cold"
        else 0,
        top_statements=totals.top[:8],
        cpu_by_process=cpu_by_process,
    )


# The federated deployment is measured on the queries that cross subgraphs' boundaries.
FEDERATED_QUERIES = ("a", "b")


def target_queries(target: ServerUnderTest) -> tuple[str, ...]:
    if target.queries:
        return target.queries
    return FEDERATED_QUERIES if target.name == "federated" else tuple(QUERIES)


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
                if key not in target_queries(target):
                    continue
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


def register(target: ServerUnderTest, key: str) -> None:
    """Sends a query's one-off registration (query (e): the APQ text under its hash)."""
    body = QUERIES[key].register.get(target.documents)
    if body is None:
        return
    answer = post_json(target.url, body.encode())
    if answer.get("errors") or not answer.get("data"):
        raise BenchError(f"{target.name}, query ({key}): registering failed: {answer}"[:1500])


def verify(
    target: ServerUnderTest,
    pools: dict[str, Pool],
    opts: Options,
    reference: dict[tuple[str, int], Any],
) -> dict[str, list[float]]:
    """Sample answers have data and no errors and equal the first server's; the cycle
    variable of cold requests leaves the answer unchanged. Returns each query's sample
    latencies (ms; one request at a time, the first ones the server sees: cold caches)."""
    alone: dict[str, list[float]] = {}
    for key in opts.queries:
        if key not in target_queries(target):
            continue
        pool, lines = pools[key], template(key, target.documents)
        register(target, key)
        cycle = cycle_of(key, target.documents, opts.shape)
        last = cycle[len(cycle) - 1]
        samples = [(pool.hot, cycle[0])]
        samples += [(value, last) for value in pool.lines[: VERIFY_SAMPLES - 1]]
        if key != "d":
            samples.append((pool.hot, last))  # must equal the hot answer
        answers = []
        for index, (value, cyc) in enumerate(samples):
            started = time.perf_counter()
            raw = post_json(target.url, render(lines(value), cyc), timeout=60.0)
            alone.setdefault(key, []).append((time.perf_counter() - started) * 1000)
            answer = as_philos(target.documents, raw)
            what = f"{target.name}, query ({key}), {value!r} / {cyc}"
            if answer.get("errors") or not answer.get("data"):
                raise BenchError(f"{what}: errors: {json.dumps(answer)[:1500]}")
            if key == "c" and answer["data"].get("concept") is None:
                raise BenchError(f"{what}: no concept")
            if key in ("a", "b", "e") and not answer["data"]["concepts"]["nodes"]:
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
    return alone
