"""Every field of a type the compiler covers is compiled or named in ``UNCOMPILED``.

The walk starts at the root fields and follows every field that compiles: the types it reaches
are the covered ones. For each field of a covered type it compiles the smallest query selecting
that field. A field that falls back to the resolvers must be listed with its reason; a listed
field that compiles must leave the list. No database is needed: only whether the compiler
produces a statement is checked here (``tests/api/test_compiled.py`` compares the answers).
"""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputType,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    extend_schema,
    get_named_type,
    is_composite_type,
    parse,
)

from philos.compile.coverage import ARGUMENTS, UNCOMPILED
from philos.compile.sql import compile_operation
from philos.schema.federation import build_subgraph_schema
from philos.schema.root import build_schema

# What the schema cannot say: ``concept`` takes exactly one of its two optional arguments.
EXAMPLE_ARGUMENTS = {("Query", "concept"): '(slug: "categorical-imperative")'}
AN_ID = '"00000000-0000-4000-8000-000000000000"'
SCALAR_EXAMPLES = {"ID": AN_ID, "String": '"x"', "Int": "1", "Float": "0.5", "Boolean": "true"}

# Reached today; a type dropping out of this set means the compiler lost a path.
EXPECTED_COVERED = {
    "Query",
    "Concept",
    "ConceptConnection",
    "ConceptEdge",
    "PageInfo",
    "Thesis",
    "ThesisConnection",
    "ThesisEdge",
    "Relation",
    "Provenance",
    "User",
    "Argument",
    "Source",
}


def _example(type_: GraphQLInputType) -> str:
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return str(next(iter(named.values)))
    assert isinstance(named, GraphQLScalarType), f"no example value for {named}"
    return SCALAR_EXAMPLES[named.name]


def _arguments(type_name: str, name: str, field: GraphQLField) -> str:
    if (type_name, name) in EXAMPLE_ARGUMENTS:
        return EXAMPLE_ARGUMENTS[type_name, name]
    required = [
        f"{arg_name}: {_example(arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    ]
    return f"({', '.join(required)})" if required else ""


def _query(path: list[str], leaf: str) -> str:
    text = leaf
    for segment in reversed(path):
        text = f"{segment} {{ {text} }}"
    return f"{{ {text} }}"


def _compiles(schema: GraphQLSchema, query: str) -> bool:
    return compile_operation(schema, parse(query), None, {}) is not None


def coverage_problems(schema: GraphQLSchema) -> tuple[list[str], set[str]]:
    """(what is wrong, the covered types)."""
    assert schema.query_type is not None
    paths: dict[str, list[str]] = {schema.query_type.name: []}
    queue = [schema.query_type.name]
    problems: list[str] = []
    while queue:
        type_name = queue.pop(0)
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        listed = UNCOMPILED.get(type_name, {})
        for name, field in object_type.fields.items():
            segment = name + _arguments(type_name, name, field)
            leaf = segment + (
                " { __typename }" if is_composite_type(get_named_type(field.type)) else ""
            )
            compiled = _compiles(schema, _query(paths[type_name], leaf))
            if compiled and name in listed:
                problems.append(f"{type_name}.{name} compiles: remove it from UNCOMPILED")
            elif not compiled and name not in listed:
                problems.append(
                    f"{type_name}.{name} is neither compiled nor listed in "
                    "philos/compile/coverage.py UNCOMPILED (with the reason)"
                )
            named = get_named_type(field.type)
            if compiled and isinstance(named, GraphQLObjectType) and named.name not in paths:
                paths[named.name] = [*paths[type_name], segment]
                queue.append(named.name)
        problems += [
            f"{type_name}.{name} is listed in UNCOMPILED but is no field"
            for name in listed
            if name not in object_type.fields
        ]
    problems += [
        f"UNCOMPILED lists {type_name}, a type the compiler does not reach"
        for type_name in UNCOMPILED
        if type_name not in paths
    ]
    return problems, set(paths)


def test_every_field_of_a_covered_type_is_compiled_or_listed() -> None:
    problems, covered = coverage_problems(build_schema()._schema)
    assert problems == []
    assert covered == EXPECTED_COVERED


def test_the_arguments_the_compiler_handles_exist() -> None:
    # ``_entities`` exists in the subgraphs' schemas only.
    schemas = (build_schema()._schema, build_subgraph_schema("concepts")._schema)
    for (type_name, name), arguments in ARGUMENTS.items():
        found = [s.type_map[type_name] for s in schemas]
        fields = [
            t.fields[name] for t in found if isinstance(t, GraphQLObjectType) and name in t.fields
        ]
        assert fields, (type_name, name)
        assert arguments == set(fields[0].args), (type_name, name)


def test_a_new_field_or_argument_is_reported_not_ignored() -> None:
    """A field the compiler does not know, or a new argument on one it compiles, makes the
    query fall back to the resolvers, and the walk names it."""
    base = build_schema()._schema
    schema = extend_schema(base, parse("extend type Concept { rating: Int }"))
    concept = schema.type_map["Concept"]
    assert isinstance(concept, GraphQLObjectType)
    concept.fields["theses"].args["after"] = GraphQLArgument(GraphQLString)
    relation = schema.type_map["Relation"]
    assert isinstance(relation, GraphQLObjectType)
    relation.fields["source"].args["depth"] = GraphQLArgument(GraphQLInt)
    problems, _ = coverage_problems(schema)
    assert sorted(p.split(" ")[0] for p in problems) == [
        "Concept.rating",
        "Concept.theses",
        "Relation.source",
    ]
    assert _compiles(schema, "{ concepts { nodes { slug } } }")
