"""The trivial-document shortcut of ``gateway/validation.py`` agrees with the full rules: a
document it lets through has no validation error, and every document it does not let through
is left to the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLError, parse, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import validate_document

from philos.gateway.graphql import make_schema
from philos.gateway.query_limits import validation_rules
from philos.gateway.validation import DocumentValidation, trivial_aliases
from tests.settings import settings_for

MAX_DEPTH, MAX_ALIASES = 3, 4
SELECTION = st.sampled_from(
    [
        "__typename",
        "__typename",
        "a: __typename",
        "b: __typename",
        "__typename: __typename",
        "a: __schema { queryType { name } }",
        "__typename(x: 1)",
        "__typename @skip(if: true)",
        "__typename { a }",
        "... on Query { __typename }",
        "nope",
    ]
)
PREFIX = st.sampled_from(
    ["", "query ", "query Q ", "mutation ", "subscription ", "query($v: Int) "]
)
SUFFIX = st.sampled_from(["", "", " query Other { __typename }", " fragment F on Query { a }"])


@pytest.fixture(scope="module", params=["test", "production"])
def schema(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> object:
    data = tmp_path_factory.mktemp("data")
    return make_schema(
        settings_for(
            f"sqlite+aiosqlite:///{Path(data) / 'x.db'}",
            data,
            PHILOS_ENV=request.param,
            PHILOS_MAX_DEPTH=MAX_DEPTH,
            PHILOS_MAX_ALIASES=MAX_ALIASES,
        )
    )


def test_the_shortcut_never_hides_an_error(schema: object) -> None:
    graphql_schema = schema._schema  # type: ignore[attr-defined]
    production = any(
        "DisableIntrospection" in str(e)
        for e in schema.extensions  # type: ignore[attr-defined]
    )
    rules = (*specified_rules, *validation_rules(MAX_DEPTH, MAX_ALIASES))
    if production:
        rules = (*rules, NoSchemaIntrospectionCustomRule)
    check = DocumentValidation(16, MAX_DEPTH, MAX_ALIASES)
    shortcut = 0

    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(PREFIX, st.lists(SELECTION, min_size=1, max_size=8), SUFFIX)
    def agree(prefix: str, selections: list[str], suffix: str) -> None:
        nonlocal shortcut
        try:
            document = parse(f"{prefix}{{ {' '.join(selections)} }}{suffix}")
        except GraphQLError:
            return
        errors = validate_document(graphql_schema, document, rules)
        if check.trivially_valid(document, rules):
            shortcut += 1
            assert errors == [], errors
        elif trivial_aliases(document) is not None:  # left to the rules: over the alias limit
            assert any("aliases" in e.message for e in errors), errors

    agree()
    assert shortcut > 15


def test_an_unknown_rule_turns_the_shortcut_off() -> None:
    class Unknown(NoSchemaIntrospectionCustomRule):
        pass

    check = DocumentValidation(16, MAX_DEPTH, MAX_ALIASES)
    document = parse("{ __typename }")
    assert check.trivially_valid(document, tuple(specified_rules))
    assert not check.trivially_valid(document, (*specified_rules, Unknown))
