"""Philos against PostGraphile, same data, same database, same core, one command.

    python -m bench.run            # or: python bench/run.py, or: make bench
    python -m bench.run --help     # sizes, durations, pinning, cache TTL, which queries

Starts a throwaway PostgreSQL 15 cluster (``tests/services/servers/``, with
pg_stat_statements), creates Philos's schema through Philos, loads a generated dataset
(``bench/dataset.py``), then runs Philos (uvicorn, uvloop, httptools, one worker) and
PostGraphile v4 (one Node process) one after the other, each pinned with ``taskset`` to the
same core, and drives each with ``wrk`` pinned to another core. For every query of
``bench/queries.py`` and mode (cold, hot) it reports req/s, p50/p99 latency, SQL statements per
request (pg_stat_statements, reset before each run) and the server's RSS, writes a markdown
table to ``bench/results/<date>-<git-sha>[-split].md`` (``-2``, ``-3`` … after a run of the
same code, wiring and day) and prints ``ratio philos/postgraphile`` lines.

``--profile a`` instead runs Philos alone under pyinstrument on query (a) and writes the
profile next to the results. See docs/benchmarks.md.

This module parses the options and runs the steps; the parts live next to it:
``options.py`` (the command line), ``common.py`` (paths, errors, process and machine helpers),
``database.py`` (the throwaway PostgreSQL, loading the dataset, counting statements),
``targets.py`` (a server under test; Philos), ``postgraphile.py`` (the peer), ``load.py``
(wrk, measurements, answer checks) and ``report.py`` (ratio lines, markdown table, setup).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    BenchError,
    _cpu_list,
    _fmt,
    git_info,
    loadavg,
    log,
    memory_kib,
    tree_rss,
)
from bench.database import StatementCounter, prepare_data, role_url, throwaway_postgres
from bench.load import Measurement, measure, measure_all, verify
from bench.neo4j_graphql import ensure_installed, neo4j_graphql_server
from bench.options import MODES, Options, parse_args
from bench.postgraphile import ensure_postgraphile, postgraphile_server
from bench.queries import QUERIES
from bench.report import alone_lines, collect_meta, markdown, ratio_lines, rss_lines
from bench.split import MONGODB_DATABASE, SplitStores, throwaway_split
from bench.targets import ServerUnderTest, federated_server, philos_server
from tests.services.servers import PostgresServer, ServerError


def require_tools(opts: Options) -> None:
    missing = [tool for tool in ("taskset",) if shutil.which(tool) is None]
    if shutil.which("wrk") is None:
        missing.append("wrk (Debian: apt-get install wrk)")
    node_peers = {"postgraphile", "neo4j-graphql"} & set(opts.servers)
    if node_peers and opts.profile is None and shutil.which("node") is None:
        missing.append("node (Node.js 20)")
    if missing:
        raise BenchError("missing tools: " + ", ".join(missing))
    available = os.sched_getaffinity(0)
    wanted = {opts.server_cpu, opts.client_cpu} | _cpu_list(opts.postgres_cpus)
    if not wanted <= available:
        raise BenchError(f"CPUs {sorted(wanted - available)} are not available (have {available})")
    if opts.server_cpu == opts.client_cpu:
        log("warning: server and load generator share a core; numbers will be lower")


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
        # The compiled path unless the resolvers alone are asked for (the default server list
        # names both).
        resolvers = "philos-resolvers" in opts.servers and "philos" not in opts.servers
        target = philos_server(
            opts, pg.url, workdir, profile_out=out, stores=RESOLVERS_ONLY if resolvers else None
        )
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


SPLIT_STORE_TIMEOUT = 30
#: philos-resolvers: the all-PostgreSQL Philos with its SQL compiler off, so every query goes
#: through the resolvers, the path of anything the compiler does not cover
RESOLVERS_ONLY = {"PHILOS_SQL_COMPILE": "false"}


def store_rss(pg_pid: int | None, split: SplitStores | None) -> dict[str, int]:
    """VmRSS (KiB) of the data stores' processes: PostgreSQL's (the postmaster and its
    backends), Neo4j's and FerretDB's."""
    found = {"postgresql": tree_rss(pg_pid)} if pg_pid is not None else {}
    if split is not None:
        found.update({name: tree_rss(pid) for name, pid in split.pids.items()})
    return found


def make_target(
    opts: Options, server: str, pg: PostgresServer, split: SplitStores | None, workdir: Path
) -> ServerUnderTest:
    if server in ("philos", "philos-split", "philos-resolvers"):
        name = opts.label(server)
        role, url = role_url(pg, name)
        stores = RESOLVERS_ONLY if server == "philos-resolvers" else None
        if server == "philos-split":
            assert split is not None
            stores = {
                "NEO4J_URI": split.neo4j_uri,
                "MONGODB_URI": split.mongodb_uri,
                "PHILOS_MONGODB_DATABASE": MONGODB_DATABASE,
                # FerretDB (SQLite) scans the whole collection for theses by concept, seconds
                # a call on a busy machine: past the 2 s store default. Longer limits let
                # those requests finish and show their real latency instead of an error.
                "PHILOS_STORE_TIMEOUT": str(SPLIT_STORE_TIMEOUT),
                "PHILOS_REQUEST_TIMEOUT": str(SPLIT_STORE_TIMEOUT * 2),
            }
        target = philos_server(opts, url, workdir, name=name, stores=stores)
        target.db_role = role
        return target
    if server == "neo4j-graphql":
        assert split is not None
        return neo4j_graphql_server(opts, split.neo4j_uri, workdir)
    if server == "federated":
        return federated_server(opts, pg.url, workdir)
    return postgraphile_server(opts, pg.url, workdir)


def results_path(directory: Path, stem: str) -> Path:
    """Where a run's table goes: ``<stem>.md``, or ``<stem>-2.md``, ``-3`` … when an earlier
    run of the same code, wiring and day wrote that one (a run never overwrites another)."""
    directory.mkdir(parents=True, exist_ok=True)
    path, n = directory / f"{stem}.md", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.md"
    return path


def run(opts: Options) -> int:
    require_tools(opts)
    if opts.profile:
        return run_profile(opts)
    postgraphile_version = ensure_postgraphile() if "postgraphile" in opts.servers else "-"
    peer_version = ensure_installed() if "neo4j-graphql" in opts.servers else "-"
    sha, dirty = git_info()  # the code the servers load now, whatever HEAD does meanwhile
    stem = f"{datetime.now(UTC):%Y-%m-%d}-{sha}" + ("-split" if opts.wiring == "split" else "")
    results: list[Measurement] = []
    peaks: dict[str, int] = {}
    stores: dict[str, dict[str, int]] = {}
    alone: dict[str, dict[str, list[float]]] = {}
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(throwaway_postgres(opts))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="philos-bench-")))
        pools = prepare_data(opts, pg)
        split = stack.enter_context(throwaway_split(opts, pg.url)) if opts.split else None
        meta = collect_meta(opts, pg, postgraphile_version, sha, dirty)
        if split is not None:
            meta["wiring"] = (
                "split: philos-split has DATABASE_URL (concepts), NEO4J_URI (relations) and "
                "MONGODB_URI (theses), philos-sql only DATABASE_URL (queries compiled into one "
                "statement); both with the in-process cache, each under a PostgreSQL role of "
                f"its own; philos-split with PHILOS_STORE_TIMEOUT={SPLIT_STORE_TIMEOUT} and "
                f"PHILOS_REQUEST_TIMEOUT={SPLIT_STORE_TIMEOUT * 2} (defaults 2 and 10 s)"
            )
            meta["split stores"] = split.describe()
            meta["Neo4j GraphQL Library"] = peer_version
        stores["idle"] = store_rss(pg.pid, split)
        counter = StatementCounter(pg)
        reference: dict[tuple[str, int], Any] = {}
        targets: dict[str, ServerUnderTest] = {}
        try:
            for server in opts.servers:
                target = make_target(opts, server, pg, split, workdir)
                if split is not None and server in ("philos-split", "neo4j-graphql"):
                    target.store_pids = list(split.pids.values())
                targets[server] = target
                log(f"starting {target.name} on CPU {opts.server_cpu}")
                target.start()
                target.idle_rss_kib = sum(memory_kib(p).get("VmRSS", 0) for p in target.pids)
                alone[target.name] = verify(target, pools, opts, reference)
                if opts.sequential:
                    results.extend(measure_all(opts, [target], pools, counter, workdir))
                    peaks[target.name] = sum(memory_kib(p).get("VmHWM", 0) for p in target.pids)
                    target.stop()
            if not opts.sequential:
                running = [targets[s] for s in opts.servers]
                results.extend(measure_all(opts, running, pools, counter, workdir))
                peaks.update(
                    {t.name: sum(memory_kib(p).get("VmHWM", 0) for p in t.pids) for t in running}
                )
            stores["after load"] = store_rss(pg.pid, split)
        finally:
            for target in targets.values():
                target.stop()
        meta["load average (1/5/15 min) at end"] = loadavg()
    print()
    notes = [*rss_lines(results, stores), *alone_lines(alone)]
    for line in [*ratio_lines(results, opts), *notes]:
        print(line)
    report = markdown(results, opts, meta, peaks, notes)
    if opts.write:
        path = results_path(opts.results_dir, stem)
        path.write_text(report)
        raw = path.with_suffix(".raw")
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
