"""The benchmark's PostgreSQL: the throwaway cluster, the dataset loaded into it, and the
SQL statements the servers run (pg_stat_statements).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import BenchError, _cpu_list, log, pin_tree
from bench.dataset import (
    generate,
    integrity,
    load,
)
from bench.options import Options
from bench.queries import QUERIES, Pool, build_pool
from tests.services.servers import PostgresServer


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
    return {key: build_pool(key, data.concepts, spec.seed) for key in QUERIES}


def role_url(pg: PostgresServer, server: str) -> tuple[str, str]:
    """A login role of its own for a Philos server (a member of the data's owner, so it has
    the owner's privileges) and the URL that connects as it: its statements are then counted
    apart from the background statements (outbox relays) of the servers that wait idle."""
    role = "bench_" + re.sub(r"[^a-z0-9]+", "_", server.lower())
    # the name is made of [a-z0-9_] above
    if not pg.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'"):  # noqa: S608
        pg.psql(f'CREATE ROLE "{role}" LOGIN IN ROLE "{pg.role}"')
    parts = urlsplit(pg.url)
    netloc = f"{role}@{parts.netloc.split('@', 1)[-1]}"
    return role, urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class StatementCounter:
    """SQL statements run by one server's role, from pg_stat_statements."""

    def __init__(self, pg: PostgresServer) -> None:
        self.pg = pg
        self.enabled = bool(pg.pg_stat_statements)
        self.role = pg.role

    @property
    def _where(self) -> str:
        return (
            "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid "
            "JOIN pg_database d ON d.oid = s.dbid "
            f"WHERE r.rolname = '{self.role}' AND d.datname = current_database() "
            "AND s.query NOT ILIKE '%pg_stat_statements%'"
        )

    def reset(self, role: str | None = None) -> None:
        """Start counting again, for ``role`` (default: the data's owner)."""
        self.role = role or self.pg.role
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
