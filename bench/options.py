"""Command-line options of ``python -m bench.run``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS
from bench.dataset import (
    DatasetSpec,
)
from bench.queries import QUERIES, SERVERS, Shape

MODES = ("cold", "hot")
WIRINGS = ("sql", "split")
#: every server the harness can run; "philos" is Philos with everything in PostgreSQL (named
#: "philos-sql" in a split run), "philos-resolvers" the same without the SQL compiler (every
#: query through the resolvers), "philos-split" Philos on PostgreSQL + Neo4j + MongoDB
ALL_SERVERS = (*SERVERS, "philos-resolvers", "federated", "philos-split", "neo4j-graphql")
DEFAULT_SERVERS = {
    "sql": "philos,postgraphile,philos-resolvers,federated",
    "split": "philos-split,neo4j-graphql,philos",
}


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
    wiring: str = "sql"

    @property
    def split(self) -> bool:
        """Whether the run needs Neo4j and MongoDB loaded (a split server is in it)."""
        return bool({"philos-split", "neo4j-graphql"} & set(self.servers))

    def label(self, server: str) -> str:
        """A server's name in the results: the all-SQL Philos is "philos-sql" beside the
        split one."""
        return "philos-sql" if server == "philos" and self.wiring == "split" else server

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
        "--queries", type=_csv(list(QUERIES)), default="a,b,c,d", help="comma list of a,b,c,d,e"
    )
    load_.add_argument("--modes", type=_csv(MODES), default="cold,hot", help="comma list")
    load_.add_argument(
        "--wiring",
        choices=WIRINGS,
        default="sql",
        help="sql: Philos with everything in PostgreSQL against PostGraphile; split: Philos on "
        "PostgreSQL + Neo4j + MongoDB (FerretDB) against the Neo4j GraphQL Library (query b) "
        "and the all-SQL Philos",
    )
    load_.add_argument(
        "--servers",
        type=_csv(ALL_SERVERS),
        default=None,
        help="comma list; philos-resolvers: Philos on PostgreSQL with PHILOS_SQL_COMPILE=false "
        "(with --profile: profile that one); federated: the five subgraphs behind the gateway "
        "(queries a, b); neo4j-graphql answers (b) only. Default: "
        + "; ".join(f"{w}: {s}" for w, s in DEFAULT_SERVERS.items()),
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
        servers=a.servers or _csv(ALL_SERVERS)(DEFAULT_SERVERS[a.wiring]),
        results_dir=a.results_dir,
        write=not a.no_write,
        profile=a.profile,
        sequential=a.sequential,
        wiring=a.wiring,
    )
