"""The compiler's SQL fragments print values exactly as Python does, on a real PostgreSQL.

Each fragment is evaluated over generated values and compared with the Python formatting the
resolvers' answers use (``datetime.isoformat``, ``json.dumps`` of a float, tag splitting).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
from hypothesis import strategies as st

from philos.compile.fragments import float_json, json_object, tags, timestamp, typename
from philos.datasources.sql.common import join_tags
from tests.security.documents import drawn

TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
FLOATS = st.one_of(
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
    st.integers(-(10**9), 10**9).map(float),
    st.sampled_from([0.0, -0.5, 0.1, 1.0, 2.5, 1e14, 123456.789]),
)
TAGS = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True), max_size=5, unique=True)


async def test_timestamps_print_as_isoformat(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        for value in drawn(TIMES, 60):
            printed = await conn.fetchval(f"SELECT {timestamp('$1::timestamptz')}", value)
            assert printed == value.isoformat(), value
    finally:
        await conn.close()


async def test_floats_print_as_python_json(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        for value in drawn(FLOATS, 80):
            printed = await conn.fetchval(f"SELECT ({float_json('$1::float8')})::text", value)
            assert json.loads(printed) == value and printed == json.dumps(value), value
    finally:
        await conn.close()


async def test_tags_split_like_the_store(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        for value in drawn(TAGS, 40):
            printed = await conn.fetchval(f"SELECT ({tags('$1::text')})::text", join_tags(value))
            assert json.loads(printed) == list(value), value
    finally:
        await conn.close()


async def test_objects_and_typenames(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        sql = json_object([("a", "1"), ("__typename", typename("Concept"))])
        assert json.loads(await conn.fetchval(f"SELECT ({sql})::text")) == {
            "a": 1,
            "__typename": "Concept",
        }
    finally:
        await conn.close()
