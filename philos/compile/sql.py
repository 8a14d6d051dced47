"""Compile a query that reads only SQL-held records into one PostgreSQL statement that builds
the whole JSON answer.

Concepts, relations, theses and users all live in PostgreSQL when neither ``NEO4J_URI`` nor
``MONGODB_URI`` is set. Then a query such as "50 concepts, each with its theses" need not run
hundreds of Python resolvers: the selection set maps onto nested ``json_build_object`` /
``json_agg`` sub-selects, one per object and list, and PostgreSQL returns the answer as a single
JSON text. Each field is compiled to the same rows, order, limits and formats its resolver
gives (``tests/api/test_compiled.py`` compares the two paths on many queries).

Anything outside that subset — a field this module does not know, a directive, an argument a
resolver would reject, a selection too wide for one ``json_build_object`` — makes
``compile_operation`` return ``None``, and the query runs through the resolvers as usual, which
also report any error. The compiler never produces an error of its own.

What it reads from the single sources rather than copies: plain columns and their formats
(``columns.py``, from the SQL tables and the Strawberry fields), the stores' orders and search
columns, argument defaults (the schema's) and argument rules (``philos.resolvers.arguments``,
which the resolvers call too). The fields it leaves to the resolvers are listed, with reasons,
in ``coverage.py``; ``tests/compile/test_coverage.py`` fails on any other field it does not
compile.
"""

# Statements are assembled from fixed fragments: table and column names come from the SQL
# tables (columns.py), aliases are generated, and every value a client sends is a bound
# parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLInputObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    OperationType,
)
from graphql.execution.values import get_argument_values, get_variable_values

from philos import domain
from philos.compile.columns import (
    CONCEPT_KEYS,
    CONCEPT_SEARCH,
    THESIS_KEY,
    THESIS_SEARCH,
    Part,
    after_sql,
    concept_cursor_text,
    concept_order,
    newest_first,
    oldest_first,
    thesis_cursor_text,
)
from philos.compile.coverage import check_arguments, check_filter
from philos.compile.fragments import (
    Unsupported,
    contains,
    cursor,
    enum_value,
    json_object,
    typename,
)
from philos.compile.objects import Objects
from philos.datasources.sql.common import like_pattern, tag_pattern
from philos.domain import ConceptOrder
from philos.schema.federation import ENTITY_KEY, ENTITY_UNION
from philos.schema.root import ConceptFilter as ConceptFilterInput
from philos.schema.root import ThesisFilter as ThesisFilterInput
from philos.types.arguments import concept_key, concept_page, thesis_key, thesis_page
from philos.types.paging import UserInputError
from philos.validation import is_id

logger = logging.getLogger("philos.compile")

__all__ = ["Statement", "compile_operation"]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]


def compile_operation(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> Statement | None:
    """One statement answering the whole operation, or None when it needs the resolvers."""
    try:
        return _Compiler(schema, document, operation_name, variables or {}).operation()
    except (Unsupported, UserInputError):
        return None
    except Exception:  # a gap in the compiler must not fail a query the resolvers can answer
        logger.exception("could not compile a query; the resolvers answer it")
        return None


def _input(schema: GraphQLSchema, cls: Any, given: Any) -> Any:
    """A filter argument as its Strawberry input class (coercion hands over a dict keyed by
    GraphQL names; the schema's input type maps them to the Python names)."""
    if given is None or isinstance(given, cls):
        return given
    input_type = schema.type_map[cls.__strawberry_definition__.name]
    assert isinstance(input_type, GraphQLInputObjectType)
    names = {
        name: field.extensions["strawberry-definition"].python_name
        for name, field in input_type.fields.items()
    }
    return cls(**{names.get(k, k): v for k, v in given.items()})


class _Compiler(Objects):
    """The operation, its root fields and connections."""

    def operation(self) -> Statement | None:
        operations = [
            d for d in self.document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        if self.operation_name is None:
            if len(operations) != 1:
                return None
            operation = operations[0]
        else:
            found = [o for o in operations if o.name and o.name.value == self.operation_name]
            if len(found) != 1:
                return None
            operation = found[0]
        if operation.operation is not OperationType.QUERY or operation.directives:
            return None
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), self.raw_variables
        )
        if isinstance(coerced, list):  # coercion errors: the resolvers' path reports them
            return None
        self.variables = coerced
        query_type = self.schema.query_type
        assert query_type is not None
        collected: dict[str, list[FieldNode]] = {}
        self._collect(query_type.name, operation.selection_set, collected)
        if all(nodes[0].name.value == "__typename" for nodes in collected.values()):
            return None  # nothing to read: no reason to ask the database
        parts: list[tuple[str, str]] = []
        for key, field_nodes in collected.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                parts.append((key, typename(query_type.name)))
                continue
            definition = query_type.fields.get(name)
            if definition is None:
                return None
            check_arguments(query_type.name, name, definition)
            arguments = get_argument_values(definition, field_nodes[0], self.variables)
            parts.append((key, self.root_field(name, field_nodes, arguments)))
        return Statement(f"SELECT {json_object(parts)}::text", tuple(self.params))

    def root_field(self, name: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        if name == "_entities":
            return self.entities(nodes, args["representations"])
        if name == "concepts":
            return self.concept_connection(nodes, args)
        if name == "theses":
            return self.thesis_connection(nodes, args)
        if name == "concept":
            asked = [args.get(k) for k in ("id", "slug", "name")]
            key = concept_key(*(None if v is None else str(v) for v in asked))
            if key is None:
                return "NULL::json"
            c = self.alias("c")
            column, value = key
            if column == "name":  # as the store: lower-cased, the oldest of equal names
                cond = (
                    f"lower({c}.name) = {self.param(value, 'varchar')} "
                    f"ORDER BY {c}.created_at, {c}.id LIMIT 1"
                )
            else:
                cond = f"{c}.{column} = {self.param(value, 'varchar')}"
            return f"(SELECT {self.concept(c, nodes)} FROM concepts {c} WHERE {cond})"  # nosec B608
        if name == "thesis":
            thesis_id = thesis_key(str(args["id"]))
            if thesis_id is None:
                return "NULL::json"
            t = self.alias("t")
            cond = f"{t}.id = {self.param(thesis_id, 'varchar')}"
            return f"(SELECT {self.thesis(t, nodes)} FROM theses {t} WHERE {cond})"  # nosec B608
        raise Unsupported

    def entities(self, nodes: list[FieldNode], representations: list[Any]) -> str:
        """A subgraph's ``_entities`` when every representation is a concept: the concepts in
        the order asked, null for an id that names none (as ``resolve_reference``). Any other
        entity type, or a representation the resolvers would refuse, runs through them."""
        entity_type = self.schema.type_map.get(ENTITY_UNION)
        if not isinstance(entity_type, GraphQLUnionType) or "Concept" not in {
            t.name for t in entity_type.types
        }:
            raise Unsupported
        ids: list[str | None] = []
        for representation in representations:
            if not isinstance(representation, Mapping):
                raise Unsupported
            if representation.get("__typename") != "Concept":
                raise Unsupported
            key = representation.get(ENTITY_KEY)
            ids.append(key if isinstance(key, str) and is_id(key) else None)
        c, r = self.alias("c"), self.alias("r")
        concept = f"CASE WHEN {c}.id IS NULL THEN NULL ELSE {self.concept(c, nodes)} END"
        asked = self.param(ids, "varchar[]")
        listed = f"json_agg({concept} ORDER BY {r}.n)"
        return (
            f"(SELECT coalesce({listed}, '[]'::json) "  # nosec B608
            f"FROM unnest({asked}) WITH ORDINALITY AS {r}(id, n) "
            f"LEFT JOIN concepts {c} ON {c}.id = {r}.id)"
        )

    # connections

    def connection(
        self,
        type_name: str,
        edge_type: str,
        table: str,
        where: Callable[[str], str],
        orders: tuple[Callable[[str], str], Callable[[str], str]],
        keyset: tuple[Callable[[str, bool], str] | None, Callable[[str], str]],
        node: Callable[[str, list[FieldNode]], str],
        nodes: list[FieldNode],
        page_asked: domain.Page,
    ) -> str:
        """As ``keyset.read_page``: the rows after the cursor (``keyset[0]``, None from the
        start), one more to learn whether a next page exists, each row's cursor text by
        ``keyset[1]``."""
        after, cursor_text = keyset
        order, backwards = orders
        p, q, n = self.alias("p"), self.alias("q"), self.alias("n")
        first = self.param(page_asked.limit, "bigint")
        on_page = f"FILTER (WHERE {p}._i <= {first})"
        count = f"count({p}._i) {on_page}"
        total = f"(SELECT count(*) FROM {table} {n} WHERE {where(n)})"  # nosec B608
        if after is None:
            before = "false"
        else:
            # The row just before the page, as the store asks for it.
            before = (
                f"((SELECT 1 FROM {table} {n} WHERE {where(n)} AND {after(n, False)} "  # nosec B608
                f"ORDER BY {backwards(n)} LIMIT 1) IS NOT NULL)"
            )
        edge_cursor = cursor(cursor_text(p))
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields(type_name, nodes):
            if name == "__typename":
                expr = typename(type_name)
            elif name == "totalCount":
                expr = total
            elif name == "nodes":
                listed = f"json_agg({node(p, field_nodes)} ORDER BY {p}._i) {on_page}"
                expr = f"coalesce({listed}, '[]'::json)"
            elif name == "edges":
                edge = self.edge(edge_type, p, field_nodes, node, edge_cursor)
                expr = f"coalesce(json_agg({edge} ORDER BY {p}._i) {on_page}, '[]'::json)"
            elif name == "pageInfo":
                expr = self.page_info(field_nodes, p, first, count, before, edge_cursor)
            else:
                raise Unsupported
            parts.append((key, expr))
        answer = json_object(parts)
        s = self.alias("s")
        seek = f" AND {after(q, True)}" if after is not None else ""
        page = (
            f"SELECT {q}.* FROM {table} {q} WHERE {where(q)}{seek} "  # nosec B608
            f"ORDER BY {order(q)} LIMIT {first} + 1"
        )
        numbered = (
            f"SELECT {s}.*, row_number() OVER (ORDER BY {order(s)}) AS _i "  # nosec B608
            f"FROM ({page}) {s}"
        )
        # One answer row however many page rows, also when no field aggregates them.
        return f"(SELECT {answer} FROM ({numbered}) {p} GROUP BY ())"  # nosec B608

    def edge(
        self,
        edge_type: str,
        p: str,
        nodes: list[FieldNode],
        node: Callable[[str, list[FieldNode]], str],
        edge_cursor: str,
    ) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields(edge_type, nodes):
            if name == "__typename":
                parts.append((key, typename(edge_type)))
            elif name == "cursor":
                parts.append((key, edge_cursor))
            elif name == "node":
                parts.append((key, node(p, field_nodes)))
            else:
                raise Unsupported
        return json_object(parts)

    def page_info(
        self,
        nodes: list[FieldNode],
        p: str,
        first: str,
        count: str,
        before: str,
        edge_cursor: str,
    ) -> str:
        parts: list[tuple[str, str]] = []
        on_page = f"FILTER (WHERE {p}._i <= {first})"
        for key, name, _, _ in self.fields("PageInfo", nodes):
            if name == "__typename":
                expr = typename("PageInfo")
            elif name == "hasNextPage":
                expr = f"(count({p}._i) > {first})"
            elif name == "hasPreviousPage":
                expr = before
            elif name == "startCursor":
                expr = f"(array_agg({edge_cursor} ORDER BY {p}._i) {on_page})[1]"
            elif name == "endCursor":
                expr = f"(array_agg({edge_cursor} ORDER BY {p}._i DESC) {on_page})[1]"
            else:
                raise Unsupported
            parts.append((key, expr))
        del count
        return json_object(parts)

    def after(
        self, parts: tuple[Part, ...], page: domain.Page
    ) -> Callable[[str, bool], str] | None:
        return None if page.after is None else after_sql(parts, page.after, self.param)

    def concept_connection(self, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        given = _input(self.schema, ConceptFilterInput, args["filter"])
        flt = given.to_domain() if given is not None else None
        check_filter("Query", "concepts", flt)
        order = ConceptOrder(enum_value(args["orderBy"] or ConceptOrder.NAME_ASC))
        page = concept_page(flt or domain.ConceptFilter(), order, int(args["first"]), args["after"])
        shared = self.shared_params()

        def where(q: str) -> str:
            conds = ["TRUE"]
            if flt is None:
                return conds[0]
            if flt.search:
                pattern = shared("search", like_pattern(flt.search), "text")
                conds.append(contains(q, CONCEPT_SEARCH, pattern))
            if flt.tradition:
                value = shared("tradition", flt.tradition.lower(), "varchar")
                conds.append(f"lower({q}.tradition) = {value}")
            for i, tag in enumerate(flt.tags):
                value = shared(f"tag{i}", tag_pattern(tag), "varchar")
                conds.append(f"{q}.tags LIKE {value}")
            if flt.era_from is not None:
                value = shared("era_from", flt.era_from, "int")
                conds.append(f"coalesce({q}.era_to, {q}.era_from) >= {value}")
            if flt.era_to is not None:
                value = shared("era_to", flt.era_to, "int")
                conds.append(f"{q}.era_from <= {value}")
            return " AND ".join(conds)

        return self.connection(
            "ConceptConnection",
            "ConceptEdge",
            "concepts",
            where,
            (concept_order(order), concept_order(order, reverse=True)),
            (self.after(CONCEPT_KEYS[order], page), concept_cursor_text(order)),
            self.concept,
            nodes,
            page,
        )

    def thesis_connection(self, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        given = _input(self.schema, ThesisFilterInput, args["filter"])
        flt = given.to_domain() if given is not None else None
        check_filter("Query", "theses", flt)
        page = thesis_page(int(args["first"]), args["after"])
        shared = self.shared_params()

        def where(q: str) -> str:
            conds = ["TRUE"]
            if flt is None:
                return conds[0]
            if flt.concept_id:
                value = shared("concept", flt.concept_id, "varchar")
                conds.append(f"{q}.concept_id = {value}")
            if flt.stance:
                value = shared("stance", flt.stance.value, "varchar")
                conds.append(f"{q}.stance = {value}")
            if flt.search:
                value = shared("search", like_pattern(flt.search), "text")
                conds.append(contains(q, THESIS_SEARCH, value))
            return " AND ".join(conds)

        return self.connection(
            "ThesisConnection",
            "ThesisEdge",
            "theses",
            where,
            (newest_first, oldest_first),
            (self.after(THESIS_KEY, page), thesis_cursor_text),
            self.thesis,
            nodes,
            page,
        )
