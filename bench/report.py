"""The results: ratio lines, the markdown table and the description of the setup."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import _fmt, _run_text, loadavg
from bench.load import Measurement
from bench.options import Options
from bench.queries import QUERIES
from tests.services.servers import PostgresServer

# Split runs: (ours, theirs) for each ratio line.
SPLIT_RATIOS = (("philos-split", "neo4j-graphql"), ("philos-split", "philos-sql"))
#: the resolver path against the compiled one, in either wiring's name for the latter
RESOLVER_RATIOS = (("philos-resolvers", "philos"), ("philos-resolvers", "philos-sql"))


def _pair_line(key: str, mode: str, ours: Measurement, theirs: Measurement) -> str:
    cpu = (
        f"{ours.cpu_ms_per_request / theirs.cpu_ms_per_request:.1f}x"
        if ours.cpu_ms_per_request and theirs.cpu_ms_per_request
        else "n/a"
    )
    return (
        f"({key}) {QUERIES[key].title}, {mode}: ratio {ours.server}/{theirs.server}: "
        f"{ours.rps / theirs.rps:.2f} (req/s {ours.rps:,.0f} vs {theirs.rps:,.0f}; "
        f"p99 {ours.p99_ms:.1f} vs {theirs.p99_ms:.1f} ms; server CPU per request {cpu})"
    )


def ratio_lines(results: list[Measurement], opts: Options) -> list[str]:
    by = {(m.server, m.query, m.mode): m for m in results}
    lines = []
    for our_name, their_name in (*SPLIT_RATIOS, *RESOLVER_RATIOS):
        for key in opts.queries:
            for mode in opts.modes:
                ours, theirs = by.get((our_name, key, mode)), by.get((their_name, key, mode))
                if ours is not None and theirs is not None and theirs.rps:
                    lines.append(_pair_line(key, mode, ours, theirs))
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
    for key in opts.queries:
        for mode in opts.modes:
            mono, fed = by.get(("philos", key, mode)), by.get(("federated", key, mode))
            if mono is None or fed is None or not mono.rps:
                continue
            lines.append(
                f"({key}) {QUERIES[key].title}, {mode}: ratio federated/monolith: "
                f"{fed.rps / mono.rps:.2f} (req/s {fed.rps:,.0f} vs {mono.rps:,.0f}; "
                f"p50 {fed.p50_ms:.1f} vs {mono.p50_ms:.1f} ms; "
                f"p99 {fed.p99_ms:.1f} vs {mono.p99_ms:.1f} ms; "
                f"server CPU ms per request {cpu_split(fed)} vs {_fmt(mono.cpu_ms_per_request, 2)})"
            )
    return lines


def cpu_split(m: Measurement) -> str:
    """The CPU per request, and how much of it each process took when there are several
    (the gateway and the subgraphs): ``12.40 = gateway 4.10 + concepts 3.20 + …``."""
    parts = [(name, seconds) for name, seconds in m.cpu_by_process.items() if seconds > 0]
    total = _fmt(m.cpu_ms_per_request, 2)
    if len(parts) < 2 or not m.executed:
        return total
    per = [f"{name} {seconds * 1000 / m.executed:.2f}" for name, seconds in parts]
    return f"{total} = {' + '.join(per)}"


def rss_lines(results: list[Measurement], stores: dict[str, dict[str, int]]) -> list[str]:
    """One line per server (one wiring of Philos, or a peer): VmRSS once started, before any
    request, and after its last measured run; then the data stores' processes."""
    last: dict[str, Measurement] = {}
    for m in results:
        last[m.server] = m
    lines = [
        f"rss {server}: idle {m.idle_rss_kib / 1024:.0f} MiB, after load {m.rss_kib / 1024:.0f} MiB"
        for server, m in last.items()
    ]
    idle, after = stores.get("idle", {}), stores.get("after load", {})
    lines += [
        f"rss store {name}: idle {kib / 1024:.0f} MiB, after load "
        f"{after.get(name, 0) / 1024:.0f} MiB"
        for name, kib in idle.items()
    ]
    return lines


def alone_lines(alone: dict[str, dict[str, list[float]]]) -> list[str]:
    """Per server and query: the identical-answers check's requests, one at a time before any
    load (the first is the server's first request of that query)."""
    lines = []
    for server, by_query in alone.items():
        for key, samples in by_query.items():
            ordered = sorted(samples)
            lines.append(
                f"alone ({key}) {server}: median {ordered[len(ordered) // 2]:,.0f} ms, "
                f"max {ordered[-1]:,.0f} ms over {len(ordered)} requests one at a time"
            )
    return lines


def _ratio(m: Measurement, by: dict[tuple[str, str, str], Measurement]) -> str:
    """The ratio column: Philos against PostGraphile; in a split run the split Philos
    against the Neo4j GraphQL Library and against the all-SQL Philos."""
    key, mode = m.query, m.mode
    if m.server == "philos-split":
        parts = []
        for their_name in ("neo4j-graphql", "philos-sql"):
            theirs = by.get((their_name, key, mode))
            if theirs is not None and theirs.rps:
                parts.append(f"**{m.rps / theirs.rps:.2f}** of {their_name}")
        return ", ".join(parts)
    if m.server == "philos-resolvers":
        for their_name in ("philos", "philos-sql"):
            theirs = by.get((their_name, key, mode))
            if theirs is not None and theirs.rps:
                return f"**{m.rps / theirs.rps:.2f}** of {their_name}"
        return ""
    other = by.get(("postgraphile", key, mode))
    if m.server == "philos" and other is not None and other.rps:
        return f"**{m.rps / other.rps:.2f}**"
    return ""


def markdown(
    results: list[Measurement],
    opts: Options,
    meta: dict[str, str],
    peaks: dict[str, int],
    notes: list[str] | None = None,
) -> str:
    by = {(m.server, m.query, m.mode): m for m in results}
    rows = [
        "| query | mode | server | req/s | p50 ms | p99 ms | SQL/req | of which SELECT | "
        "DB ms/req | server CPU ms/req | server core % | wrk core % | requests | RSS idle MiB | "
        "RSS MiB | errors | req/s ratio |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key in opts.queries:
        for mode in opts.modes:
            for server in map(opts.label, opts.servers):
                m = by.get((server, key, mode))
                if m is None:
                    continue
                ratio = _ratio(m, by)
                mono = by.get(("philos", key, mode))
                if server == "federated" and mono is not None and mono.rps:
                    ratio = f"{m.rps / mono.rps:.2f} of philos"
                rows.append(
                    f"| ({key}) {QUERIES[key].title} | {mode} | {server} | {m.rps:,.0f} | "
                    f"{m.p50_ms:.1f} | {m.p99_ms:.1f} | {_fmt(m.sql_per_request)} | "
                    f"{_fmt(m.selects_per_request)} | {_fmt(m.db_ms_per_request, 2)} | "
                    f"{_fmt(m.cpu_ms_per_request, 2)} | {m.core_share:.0%} | "
                    f"{m.client_share:.0%} | {m.executed:,}"
                    + (f" ({m.repeats:,} repeats)" if m.repeats else "")
                    + f" | {m.idle_rss_kib / 1024:.0f} | {m.rss_kib / 1024:.0f} | "
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
    summary = "\n".join([*ratio_lines(results, opts), *(notes or [])])
    peers = " / ".join(
        dict.fromkeys(
            s
            for s in map(opts.label, opts.servers)
            if s not in ("philos", "philos-split", "philos-resolvers")
        )
    )
    title = "Philos (split wiring)" if opts.split else "Philos"
    return f"""# {title} vs {peers or "itself"} — {meta["date"]} @ {meta["git"]}

{rows[0]}
{chr(10).join(rows[1:])}

```text
{summary}
```

req/s ratio = Philos req/s ÷ PostGraphile req/s (same run, same data, same core); in a split
run, philos-split's req/s ÷ the Neo4j GraphQL Library's (query (b)) and ÷ the all-SQL Philos's
(philos-sql, the compiled ceiling). SQL/req counts PostgreSQL statements only: philos-split's
Cypher queries and MongoDB commands are not in it (tests/api/test_round_trips.py counts all
three), and the Neo4j GraphQL Library sends none.
Per-request columns divide by the requests the server executed (wrk's completed requests plus
the one still in flight on each connection when wrk stopped, which the server finishes and
the harness waits for). SQL/req = statements the servers' role ran (pg_stat_statements,
BEGIN/ROLLBACK included), "of which SELECT" counts SELECT/WITH only, DB ms/req = their
execution time inside PostgreSQL. Server CPU ms/req = user+system CPU time of the server
process (/proc/PID/stat), the number least disturbed by other load on the machine; core % =
that CPU time ÷ the run's wall time (near 100%: the server had its core and was CPU-bound;
well below: it waited on the database or lost its core to other processes); wrk core % is the
same for the load generator (near 100%: the client, not the server, set the pace). RSS idle =
VmRSS of the server process once it answered, before any measured request; RSS = after the
run; peak (VmHWM) over the whole session: {peak_lines}.
"rss" lines: each server's VmRSS idle and after its last run, then the data stores' processes
(PostgreSQL with its backends). "alone" lines: the identical-answers check's requests, sent one
at a time before any load. Cold requests do not repeat while the dataset allows; distinct
cold requests per run: {pools}. "repeats" = measured cold requests that repeated an earlier
one (a cache may have answered those; (c) has only one distinct request per concept).

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
    meta = {
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
            f"httptools {version('httptools')} under philos serve's protocol, 1 worker, "
            f"no access log), strawberry-graphql {version('strawberry-graphql')}, "
            f"SQLAlchemy {version('sqlalchemy')}, asyncpg {version('asyncpg')}; PHILOS_CACHE_TTL="
            f"{opts.cache_ttl if opts.cache_ttl is not None else 'unset (product default)'}"
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
    if "postgraphile" in opts.servers:
        meta["PostGraphile"] = (
            f"{postgraphile_version} on Node {_run_text(['node', '--version'])}, one process, "
            "NODE_ENV=production, --simple-collections both --disable-query-log"
        )
    return meta
