"""The committed SDL is the schema the code builds."""

from __future__ import annotations

from pathlib import Path

from philos.schema.root import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_code() -> None:
    assert SDL.read_text("utf-8") == build_schema().as_str() + "\n", (
        "schema.graphql is out of date: run `make schema` and commit it"
    )


def test_every_readme_example_is_valid_against_the_schema() -> None:
    import re

    from graphql import parse, validate

    readme = (SDL.parent / "README.md").read_text("utf-8")
    blocks = [
        b
        for b in re.findall(r"```(?:graphql|text)\n(.*?)```", readme, flags=re.S)
        if b.lstrip().startswith(("{", "query", "mutation"))
    ]
    assert len(blocks) >= 7
    schema = build_schema()._schema
    for block in blocks:
        assert validate(schema, parse(block)) == [], block
