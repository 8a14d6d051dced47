"""The committed SDL is the schema the code builds."""

from __future__ import annotations

from pathlib import Path

from philos.schema.root import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SDL.read_text("utf-8") == build_schema().as_str() + "\n", (
        "schema.graphql is out of date: run `make schema` and commit it"
    )
