"""Deep pages: how long page 100 takes against page 1, with keyset cursors.

    .venv/bin/python -m bench.paging [--concepts 10000] [--first 20] [--page 100] [--repeat 30]

A throwaway PostgreSQL is loaded with the benchmark's generated dataset (``bench/dataset.py``),
then each list is read at page 1 and at page ``--page`` (the cursor found by walking the pages
from the start), ``--repeat`` times each after a warm-up, and the median is printed:

- ``store``: ``ConceptStore.list`` / ``ThesisStore.list``, as the resolvers call them (the
  page, whether another follows, whether one precedes, and the filtered count);
- ``compiled``: the statement ``philos/compile`` makes of ``concepts(first, after) { nodes {
  name } pageInfo { hasNextPage endCursor } }``, without ``totalCount`` and so without a count;
- ``offset (old)``: for comparison, the same page read the old way, ``OFFSET (page-1)*first``
  with the window count the store used; ``offset, no count``: the same without the count (the
  old compiled statement when ``totalCount`` was not asked).

Timings, not a test: the numbers go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import asyncpg
from graphql import parse

from bench.dataset import DatasetSpec, asyncpg_url, load
from philos.compile.sql import compile_operation
from philos.config import normalise_sql_url
from philos.datasources.sql import SqlDatabase
from philos.datasources.sql.concepts import SqlConceptStore
from philos.datasources.sql.theses import SqlThesisStore
from philos.domain import ConceptFilter, ConceptOrder, Keyset, Page, ThesisFilter
from philos.schema.root import build_schema
from philos.types.arguments import concept_page
from philos.types.paging import concept_cursor
from tests.services.servers import PostgresServer

ORDERS = (ConceptOrder.NAME_ASC, ConceptOrder.ERA_DESC, ConceptOrder.CREATED_AT_DESC)
COMPILED = """query($after: String, $first: Int!, $order: ConceptOrder!) {
  concepts(first: $first, after: $after, orderBy: $order) {
    nodes { name } pageInfo { hasNextPage endCursor }
  }
}"""
OFFSET_SQL = {
    ConceptOrder.NAME_ASC: "lower(name), id",
    ConceptOrder.ERA_DESC: "era_from IS NULL, era_from DESC, lower(name), id",
    ConceptOrder.CREATED_AT_DESC: "created_at DESC, id DESC",
}


async def _median_ms(run: Callable[[], Awaitable[Any]], repeat: int) -> float:
    for _ in range(3):
        await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _walk(
    list_page: Callable[[Page], Awaitable[Any]], key: Callable[[Any], Keyset], first: int, page: int
) -> tuple[Keyset | None, Any]:
    after: Keyset | None = None
    last = None
    for _ in range(page - 1):
        result = await list_page(Page(limit=first, after=after))
        last = result.items[-1]
        after = key(last)
    return after, last


async def measure(url: str, spec: DatasetSpec, first: int, page: int, repeat: int) -> list[str]:
    db = SqlDatabase(normalise_sql_url(url))
    concepts = SqlConceptStore(db, owns_graph=True, owns_theses=True)
    theses = SqlThesisStore(db)
    schema = build_schema()._schema
    conn = await asyncpg.connect(asyncpg_url(url))
    lines = [
        f"{spec.concepts:,} concepts, {spec.concepts * spec.theses_per_concept:,} theses; "
        f"`first: {first}`; median of {repeat} runs, ms",
        "",
        f"| list | path | page 1 | page {page} |",
        "|---|---|---:|---:|",
    ]
    try:
        for order in ORDERS:

            def list_page(p: Page, order: ConceptOrder = order) -> Awaitable[Any]:
                return concepts.list(ConceptFilter(), order, p)

            def key(c: Any, order: ConceptOrder = order) -> Keyset:
                cursor = concept_cursor(order, c)
                found = concept_page(ConceptFilter(), order, 1, cursor).after
                assert found is not None
                return found

            after, last = await _walk(list_page, key, first, page)
            one = await _median_ms(lambda: list_page(Page(limit=first)), repeat)
            deep_page = Page(limit=first, after=after)
            deep = await _median_ms(partial(list_page, deep_page), repeat)
            lines.append(f"| concepts {order.value} | store | {one:.2f} | {deep:.2f} |")

            cursor = concept_cursor(order, last)
            statements = []
            for variables in ({"after": None}, {"after": cursor}):
                statement = compile_operation(
                    schema,
                    parse(COMPILED),
                    None,
                    {**variables, "first": first, "order": order.value},
                )
                assert statement is not None
                statements.append(statement)
            one, deep = [
                await _median_ms(partial(conn.fetchval, s.sql, *s.params), repeat)
                for s in statements
            ]
            lines.append(f"| concepts {order.value} | compiled | {one:.2f} | {deep:.2f} |")

            for label, counted in (
                ("offset (old)", ", count(*) OVER ()"),
                ("offset, no count", ""),
            ):
                sql = (
                    f"SELECT *{counted} FROM concepts "  # noqa: S608 (fixed text)
                    f"ORDER BY {OFFSET_SQL[order]} OFFSET $1 LIMIT $2"
                )
                one, deep = [
                    await _median_ms(partial(conn.fetch, sql, o, first), repeat)
                    for o in (0, (page - 1) * first)
                ]
                lines.append(f"| concepts {order.value} | {label} | {one:.2f} | {deep:.2f} |")

        def thesis_page(p: Page) -> Awaitable[Any]:
            return theses.list(ThesisFilter(), p)

        after, _ = await _walk(
            thesis_page, lambda t: Keyset(values=(t.created_at,), id=t.id), first, page
        )
        one = await _median_ms(lambda: thesis_page(Page(limit=first)), repeat)
        deep = await _median_ms(lambda: thesis_page(Page(limit=first, after=after)), repeat)
        lines.append(f"| theses (newest first) | store | {one:.2f} | {deep:.2f} |")
    finally:
        await conn.close()
        await db.aclose()
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=10_000)
    parser.add_argument("--theses-per-concept", type=int, default=2)
    parser.add_argument("--first", type=int, default=20)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    spec = DatasetSpec(
        concepts=args.concepts,
        theses_per_concept=args.theses_per_concept,
        arguments_per_thesis=1,
        relations_per_concept=1,
    )
    pg = PostgresServer()
    try:
        pg.start()
        asyncio.run(load(pg.url, spec))
        lines = asyncio.run(measure(pg.url, spec, args.first, args.page, args.repeat))
    finally:
        pg.cleanup()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
