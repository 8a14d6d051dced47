"""The benchmark harness's own parts, CI-safe: no timings, no Node, no wrk.

The dataset generator is loaded at a tiny size into a database of its own on the session's
PostgreSQL and checked for row counts and referential integrity; the Philos versions of the
benchmark queries are validated against Philos's schema, and the list queries are checked to
compile into one SQL statement.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from graphql import parse, validate
from hypothesis import given
from hypothesis import strategies as st

from bench.dataset import (
    DatasetSpec,
    asyncpg_url,
    generate,
    integrity,
    load,
    with_database,
)
from bench.queries import CYCLE, QUERIES, Shape, build_pool, render
from bench.run import results_path
from philos.compile.sql import compile_operation
from philos.schema.root import build_schema

TINY = DatasetSpec(
    concepts=12, theses_per_concept=3, arguments_per_thesis=2, relations_per_concept=2
)


@pytest.fixture
async def bench_db(postgres_url: str) -> AsyncIterator[str]:
    """A fresh database next to the session's one, dropped afterwards."""
    name = f"philos_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_url(postgres_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError as exc:
        await admin.close()
        pytest.fail(f"the PostgreSQL role of {postgres_url} needs CREATEDB for this test: {exc}")
    try:
        yield with_database(postgres_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_generation_is_deterministic_and_sized() -> None:
    first, second = generate(TINY), generate(TINY)
    assert first.concepts == second.concepts
    assert first.theses == second.theses
    assert first.relations == second.relations
    expected = TINY.expected
    assert len(first.concepts) == expected["concepts"] == 12
    assert len(first.theses) == expected["theses"] == 36
    assert sum(len(t["arguments"]) for t in first.theses) == expected["arguments"] == 72
    assert len(first.relations) == expected["relations"] == 24
    assert len(set(first.slugs)) == 12
    names = [c["name"] for c in first.concepts]
    # Both servers page in name order; Philos sorts by lower(name), PostGraphile by name.
    assert sorted(names) == sorted(names, key=str.lower)
    assert generate(DatasetSpec(concepts=12, seed=8)).concepts != first.concepts


def test_spec_rejects_impossible_relations() -> None:
    with pytest.raises(ValueError, match="relations_per_concept"):
        DatasetSpec(concepts=3, relations_per_concept=3)


async def test_tiny_dataset_loads_with_integrity(bench_db: str) -> None:
    counts = await load(bench_db, TINY)
    assert {k: counts[k] for k in ("concepts", "theses", "relations")} == {
        "concepts": 12,
        "theses": 36,
        "relations": 24,
    }
    report = await integrity(bench_db, TINY)
    assert report == {
        "concepts": 12,
        "theses": 36,
        "relations": 24,
        "arguments": 72,
        "orphan_theses": 0,
        "orphan_relation_sources": 0,
        "orphan_relation_targets": 0,
        "self_loops": 0,
        "duplicate_triples": 0,
        "concepts_with_other_thesis_count": 0,
        "concepts_with_other_relation_count": 0,
    }

    # Loading again replaces the rows rather than adding to them.
    await load(bench_db, TINY)
    assert (await integrity(bench_db, TINY))["concepts"] == 12

    # PostGraphile reads the references from Philos's own foreign keys.
    conn = await asyncpg.connect(asyncpg_url(bench_db))
    try:
        foreign_keys = await conn.fetchval(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid IN ('theses'::regclass, 'relations'::regclass)"
        )
        assert foreign_keys == 3
    finally:
        await conn.close()


def test_philos_queries_validate_against_the_schema() -> None:
    schema = build_schema()._schema
    data = generate(TINY)
    shape = Shape(theses_per_concept=3, relations_per_concept=2)
    for key, query in QUERIES.items():
        pool = build_pool(key, data.concepts)
        cycle = query.cycles["philos"](shape)
        assert pool.capacity(cycle) >= len(pool.lines) >= 1, key
        templates = [query.templates["philos"](value) for value in pool.lines]
        assert len(set(templates)) == len(templates), key
        for value, cyc in ((pool.hot, cycle[0]), (pool.lines[0], cycle[len(cycle) - 1])):
            body = json.loads(query.body("philos", value, cyc))
            assert CYCLE not in json.dumps(body), key
            text = body.get("query") or query.documents["philos"]  # (e): the hash alone
            errors = validate(schema, parse(text))
            assert not errors, (key, errors)


def test_cycle_placeholder_takes_numbers_lists_and_names() -> None:
    template = json.dumps({"query": "{ t" + CYCLE + ": __typename }", "variables": {"k": CYCLE}})
    assert json.loads(render(template, "42")) == {
        "query": "{ t42: __typename }",
        "variables": {"k": 42},
    }
    assert json.loads(render(json.dumps({"types": CYCLE}), '["IS_A","OPPOSES"]')) == {
        "types": ["IS_A", "OPPOSES"]
    }


def test_repeats_count_requests_seen_before() -> None:
    from bench.load import count_repeats

    assert count_repeats(pool=91_296, warmup=400, measured=2_000) == 0
    assert count_repeats(pool=1_000, warmup=100, measured=600) == 100  # hits the warm-up's
    assert count_repeats(pool=1_000, warmup=0, measured=2_500) == 1_500  # wraps around
    assert count_repeats(pool=1_000, warmup=3_000, measured=5) == 5


async def test_philos_queries_compile_to_one_statement(bench_db: str) -> None:
    """The list queries the benchmark measures are the ones Philos answers with one SQL
    statement (philos/compile); if a change sent them back to the resolvers, cold numbers
    would fall without any test noticing."""
    await load(bench_db, TINY)
    schema = build_schema()._schema
    data = generate(TINY)
    shape = Shape(theses_per_concept=3, relations_per_concept=2)
    conn = await asyncpg.connect(asyncpg_url(bench_db))
    try:
        answers = {}
        for key, query in QUERIES.items():
            pool = build_pool(key, data.concepts)
            body = json.loads(query.body("philos", pool.hot, query.cycles["philos"](shape)[0]))
            text = body.get("query") or query.documents["philos"]
            statement = compile_operation(schema, parse(text), None, body.get("variables"))
            if key == "d":  # nothing to read: answered without the database
                assert statement is None
                continue
            assert statement is not None, key
            answers[key] = json.loads(await conn.fetchval(statement.sql, *statement.params))
    finally:
        await conn.close()
    nodes = answers["a"]["concepts"]["nodes"]
    assert len(nodes) == 12 and all(len(n["theses"]) == 3 for n in nodes)
    nodes = answers["b"]["concepts"]["nodes"]
    assert len(nodes) == 12 and all(len(n["relations"]) == 2 for n in nodes)
    assert all(r["target"]["name"] for n in nodes for r in n["relations"])
    assert answers["c"]["concept"]["slug"] == data.slugs[0]


async def test_the_documents_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m bench.documents`` on a few requests (timings are not checked)."""
    from bench.documents import measure

    await measure(requests=20, rounds=1, profile=False)
    out = capsys.readouterr().out
    assert "new document" in out and "ratio new/repeated:" in out


@given(runs=st.lists(st.sampled_from(["2026-12-03-abc", "2026-12-03-abc-split"]), max_size=6))
def test_a_run_never_overwrites_an_earlier_table(runs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        written = []
        for stem in runs:
            path = results_path(Path(tmp), stem)
            assert not path.exists()
            path.write_text(stem)
            written.append(path)
        assert len(set(written)) == len(runs)
        for stem in set(runs):  # the first of each stem keeps the plain name
            assert (Path(tmp) / f"{stem}.md").read_text() == stem
