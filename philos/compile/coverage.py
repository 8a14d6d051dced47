"""What the compiler knowingly leaves to the resolvers, and the arguments it handles.

``tests/compile/test_coverage.py`` walks the schema from the compiled root fields: every
field of a type the compiler reaches must compile or be listed in ``UNCOMPILED``. A field added
to such a type without teaching the compiler fails that test instead of silently running
through the resolvers.

A field whose schema definition has an argument not named in ``ARGUMENTS`` is not compiled at
all (the query runs through the resolvers), so a new argument can never be ignored on the
compiled path; the coverage test then names the field.
"""

from __future__ import annotations

from graphql import GraphQLField

from philos.compile.fragments import Unsupported

SEARCH_REASON = "ranked search runs in the store"
# (GraphQL type, field) -> filter fields that send the list to the resolvers, and why.
UNCOMPILED_FILTERS: dict[tuple[str, str], dict[str, str]] = {
    ("Query", "concepts"): {"search": SEARCH_REASON},
    ("Query", "theses"): {"search": SEARCH_REASON},
}

# GraphQL type -> field -> why the resolvers answer it.
UNCOMPILED: dict[str, dict[str, str]] = {
    "Query": {
        "me": "depends on the caller's access token, not only on stored records",
        "relationSuggestions": "reads the AI suggestion records; not compiled yet",
        "path": "a breadth-first shortest-path search, several statements",
        "graph": "a bounded neighbourhood walk, several statements",
        "traditions": "aggregate counts, computed by the facet store",
        "tags": "aggregate counts, computed by the facet store",
        "eras": "a histogram, computed by the facet store",
        "randomConcept": "a random draw: two runs would not answer the same",
        "relations": "a relation list read by the graph store; not compiled yet",
        "users": "an ADMIN-only account search, per caller",
        "aiJob": "a background AI job, visible only to its creator or an ADMIN",
    },
    "ConceptConnection": {
        "facets": "aggregate counts over the whole filter, computed by the facet store",
    },
    "Concept": {
        "neighbours": "a walk of 1-3 levels, one store call per level",
        "searchHighlight": SEARCH_REASON,
    },
    "Thesis": {
        "synthesisOf": "a list of theses looked up by the ids in synthesis_of; not compiled yet",
    },
}

# (GraphQL type, field) -> the argument names the compiler handles; other fields take none.
ARGUMENTS: dict[tuple[str, str], frozenset[str]] = {
    ("Query", "_entities"): frozenset({"representations"}),
    ("Query", "concept"): frozenset({"id", "slug", "name"}),
    ("Query", "concepts"): frozenset({"filter", "orderBy", "first", "after"}),
    ("Query", "thesis"): frozenset({"id"}),
    ("Query", "theses"): frozenset({"filter", "first", "after"}),
    ("Concept", "theses"): frozenset({"stance", "first"}),
    ("Concept", "relations"): frozenset({"direction", "types"}),
}


def check_filter(type_name: str, name: str, given: object) -> None:
    """Unsupported when the list's filter sets a field that only the resolvers handle."""
    for field in UNCOMPILED_FILTERS.get((type_name, name), {}):
        if getattr(given, field, None):
            raise Unsupported


def check_arguments(type_name: str, name: str, definition: GraphQLField) -> None:
    """Unsupported when the field takes an argument the compiler does not handle."""
    if definition.args and not definition.args.keys() <= ARGUMENTS.get(
        (type_name, name), frozenset()
    ):
        raise Unsupported
