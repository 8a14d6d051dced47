"""Store calls of the split wiring, timed in-process: what one list level costs.

    python -m bench.stores [--concepts 1000] [--calls 200]

Starts the test harness's Neo4j and MongoDB-wire servers, writes a generated corpus through
Philos's own adapters (3 outgoing relations and 5 theses with 2 arguments and 1 source per
concept), then times the two batched reads a 50-concept page makes below it:
``GraphStore.edges_of`` (Neo4j) and ``ThesisStore.by_concepts`` (MongoDB): per call, the
median wall time and this process's CPU time (the client's share, steady on a busy machine).
It compares one build before and after a change; the end-to-end numbers are ``bench.run``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from philos.datasources.mongo import MongoThesisStore
from philos.datasources.neo4j import Neo4jGraphStore
from philos.domain import (
    Argument,
    Concept,
    Direction,
    Polarity,
    Relation,
    RelationType,
    Source,
    Stance,
    Thesis,
)
from tests.services.servers.ferretdb import FerretDBServer
from tests.services.servers.neo4j import Neo4jServer

PAGE = 50


def corpus(n: int, seed: int = 7) -> tuple[list[Concept], list[Relation], list[Thesis]]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible dataset, not a secret
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]
    concepts = [
        Concept(id=c, slug=f"c-{i}", name=f"Concept {i}", summary="s") for i, c in enumerate(ids)
    ]
    types = list(RelationType)
    relations = [
        Relation(
            id=f"10000000-0000-4000-8000-{i * 3 + k:012d}",
            source_id=c,
            target_id=rng.choice([o for o in ids if o != c]),
            type=rng.choice(types),
            weight=round(rng.random(), 3),
        )
        for i, c in enumerate(ids)
        for k in range(3)
    ]
    theses = [
        Thesis(
            id=f"20000000-0000-4000-8000-{i * 5 + k:012d}",
            concept_id=c,
            statement=f"Statement {k} about concept {i}.",
            stance=rng.choice(list(Stance)),
            arguments=tuple(
                Argument(id=f"a-{i}-{k}-{j}", polarity=rng.choice(list(Polarity)), text="because")
                for j in range(2)
            ),
            sources=(Source(author="Someone", work="A Work", year=1900),),
        )
        for i, c in enumerate(ids)
        for k in range(5)
    ]
    return concepts, relations, theses


async def timed(call: Callable[[], Awaitable[Any]], calls: int) -> tuple[float, float]:
    """(median wall ms, mean client CPU ms) per call, after ten warm-up calls."""
    for _ in range(10):
        await call()
    times = []
    cpu = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, (time.process_time() - cpu) / calls * 1000


async def main_async(concepts_n: int, calls: int, neo4j_uri: str, mongo_uri: str) -> None:
    concepts, relations, theses = corpus(concepts_n)
    graph = Neo4jGraphStore(neo4j_uri)
    await graph.setup()
    await graph.driver.execute_query("MATCH (n) DETACH DELETE n")
    await graph.upsert_concepts(concepts)
    for relation in relations:
        await graph.relate(relation)
    mongo = MongoThesisStore(mongo_uri, database="bench_stores")
    await mongo.setup()
    for thesis in theses:
        await mongo.create(thesis)
    page = [c.id for c in concepts[:PAGE]]
    edges = await timed(lambda: graph.edges_of(page, Direction.OUTGOING, list(RelationType)), calls)
    found = await timed(lambda: mongo.by_concepts(page, None, 20), calls)
    for label, (wall, cpu) in (
        (f"edges_of({PAGE} concepts, OUTGOING), Neo4j", edges),
        (f"by_concepts({PAGE} concepts, first 20), MongoDB wire", found),
    ):
        print(f"{label:48} {wall:8.2f} ms/call wall (median), {cpu:7.2f} ms client CPU")
    await graph.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concepts", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    neo4j, mongo = Neo4jServer(), FerretDBServer()
    try:
        neo4j_uri, mongo_uri = neo4j.start(), mongo.start()
        asyncio.run(main_async(args.concepts, args.calls, neo4j_uri, mongo_uri))
    finally:
        neo4j.cleanup()
        mongo.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
