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
"""

# Statements are assembled from fixed fragments: table and column names come from the maps
# below, aliases are generated, and every value a client sends is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.utils.str_converters import to_camel_case

from philos.datasources.sql.common import like_pattern, tag_pattern
from philos.domain import ConceptOrder, Direction
from philos.schema.limits import MAX_PAGE, UserInputError, check_range, decode_cursor
from philos.schema.root import ConceptFilter as ConceptFilterInput
from philos.schema.root import ThesisFilter as ThesisFilterInput
from philos.validation import is_id

logger = logging.getLogger("philos.compile")

__all__ = ["Statement", "compile_operation"]

# json_build_object takes at most 100 arguments: 50 keys.
MAX_KEYS = 50


class Unsupported(Exception):
    """The operation needs the resolvers."""


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


def _input(cls: Any, given: Any) -> Any:
    """A filter argument as its Strawberry input class (coercion hands over a dict)."""
    if given is None or isinstance(given, cls):
        return given
    names = {
        f.graphql_name or to_camel_case(f.python_name): f.python_name
        for f in cls.__strawberry_definition__.fields
    }
    return cls(**{names.get(k, k): v for k, v in given.items()})


# --- SQL fragments -------------------------------------------------------------------------


def _timestamp(column: str) -> str:
    """``datetime.isoformat()`` of a UTC timestamp: microseconds only when non-zero."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END || '+00:00')"
    )


def _float(column: str) -> str:
    """A float as Python writes it: whole numbers keep their ``.0``."""
    return (
        f"(CASE WHEN {column} = trunc({column}) AND abs({column}) < 1e15 "
        f"THEN (trunc({column})::bigint::text || '.0')::json ELSE to_json({column}) END)"
    )


def _tags(column: str) -> str:
    """``|a|b|`` as ``["a","b"]``."""
    return f"to_json(array_remove(string_to_array({column}, '|'), ''))"


def _cursor(offset: str) -> str:
    """``encode_cursor``: URL-safe base64 of ``offset:N``."""
    encoded = f"encode(convert_to('offset:' || ({offset})::text, 'UTF8'), 'base64')"
    return f"translate({encoded}, '+/', '-_')"


def _json_list(element: str, order: str, source: str) -> str:
    return f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) FROM {source})"


def _object(parts: Sequence[tuple[str, str]]) -> str:
    if not parts or len(parts) > MAX_KEYS:
        raise Unsupported
    return "json_build_object(" + ", ".join(f"'{key}', {expr}" for key, expr in parts) + ")"


def _typename(name: str) -> str:
    return f"'{name}'::text"


_CONCEPT_COLUMNS = {
    "id": "id",
    "slug": "slug",
    "name": "name",
    "summary": "summary",
    "body": "body",
    "tradition": "tradition",
    "eraFrom": "era_from",
    "eraTo": "era_to",
    "wikidataId": "wikidata_id",
    "sepUrl": "sep_url",
    "version": "version",
}
_RELATION_COLUMNS = {
    "id": "id",
    "type": "type",
    "note": "note",
    "sourceId": "source_id",
    "targetId": "target_id",
}
_THESIS_COLUMNS = {
    "id": "id",
    "conceptId": "concept_id",
    "statement": "statement",
    "stance": "stance",
    "status": "status",
    "version": "version",
}
_USER_COLUMNS = {"id": "id", "displayName": "display_name", "role": "role"}
_TIMESTAMPS = {"createdAt": "created_at", "updatedAt": "updated_at"}

# The SQL stores' orders (datasources/sql), with ``{q}`` for the table's alias.
_CONCEPT_ORDER = {
    ConceptOrder.NAME_ASC: "lower({q}.name) ASC, {q}.id ASC",
    ConceptOrder.NAME_DESC: "lower({q}.name) DESC, {q}.id DESC",
    ConceptOrder.ERA_ASC: "{q}.era_from IS NULL ASC, {q}.era_from ASC, lower({q}.name) ASC, "
    "{q}.id ASC",
    ConceptOrder.ERA_DESC: "{q}.era_from IS NULL ASC, {q}.era_from DESC, lower({q}.name) ASC, "
    "{q}.id ASC",
    ConceptOrder.CREATED_AT_ASC: "{q}.created_at ASC, {q}.id ASC",
    ConceptOrder.CREATED_AT_DESC: "{q}.created_at DESC, {q}.id DESC",
    ConceptOrder.UPDATED_AT_DESC: "{q}.updated_at DESC, {q}.id DESC",
}
_NEWEST_FIRST = "{q}.created_at DESC, {q}.id DESC"
_RELATION_ORDER = "{q}.type, {q}.weight DESC, {q}.id"


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


# --- the compiler --------------------------------------------------------------------------

Field = tuple[str, str, list[FieldNode], dict[str, Any]]  # key, name, nodes, arguments


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.document = document
        self.operation_name = operation_name
        self.raw_variables = variables
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.params: list[Any] = []
        self.aliases = 0
        self.variables: Any = None

    # helpers

    def param(self, value: Any, sql_type: str) -> str:
        self.params.append(value)
        return f"${len(self.params)}::{sql_type}"

    def shared_params(self) -> Callable[[str, Any, str], str]:
        """Placeholders bound once and reused: a filter appears in the page and in its count."""
        bound: dict[str, str] = {}

        def shared(key: str, value: Any, sql_type: str) -> str:
            if key not in bound:
                bound[key] = self.param(value, sql_type)
            return bound[key]

        return shared

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def _collect(
        self, type_name: str, selections: SelectionSetNode, out: dict[str, list[FieldNode]]
    ) -> None:
        for selection in selections.selections:
            if selection.directives:
                raise Unsupported
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    raise Unsupported
                condition, inner = fragment.type_condition, fragment.selection_set
            else:  # pragma: no cover - no other selection kinds exist
                raise Unsupported
            if condition is not None and condition.name.value != type_name:
                raise Unsupported
            self._collect(type_name, inner, out)

    def fields(self, type_name: str, nodes: Iterable[FieldNode]) -> list[Field]:
        collected: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is None:
                raise Unsupported
            self._collect(type_name, node.selection_set, collected)
        object_type = self.schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        out: list[Field] = []
        for key, field_nodes in collected.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                out.append((key, name, field_nodes, {}))
                continue
            definition = object_type.fields.get(name)
            if definition is None:
                raise Unsupported
            arguments = get_argument_values(definition, field_nodes[0], self.variables)
            out.append((key, name, field_nodes, arguments))
        return out

    # the operation

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
        parts: list[tuple[str, str]] = []
        for key, field_nodes in collected.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                parts.append((key, _typename(query_type.name)))
                continue
            definition = query_type.fields.get(name)
            if definition is None:
                return None
            arguments = get_argument_values(definition, field_nodes[0], self.variables)
            parts.append((key, self.root_field(name, field_nodes, arguments)))
        return Statement(f"SELECT {_object(parts)}::text", tuple(self.params))

    def root_field(self, name: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        if name == "concepts":
            return self.concept_connection(nodes, args)
        if name == "theses":
            return self.thesis_connection(nodes, args)
        if name == "concept":
            concept_id, slug = args.get("id"), args.get("slug")
            if (concept_id is None) == (slug is None):
                raise Unsupported
            if slug is None and not is_id(str(concept_id)):
                return "NULL::json"
            c = self.alias("c")
            column, value = ("id", str(concept_id)) if slug is None else ("slug", str(slug))
            cond = f"{c}.{column} = {self.param(value, 'varchar')}"
            return f"(SELECT {self.concept(c, nodes)} FROM concepts {c} WHERE {cond})"
        if name == "thesis":
            thesis_id = str(args["id"])
            if not is_id(thesis_id):
                return "NULL::json"
            t = self.alias("t")
            cond = f"{t}.id = {self.param(thesis_id, 'varchar')}"
            return f"(SELECT {self.thesis(t, nodes)} FROM theses {t} WHERE {cond})"
        raise Unsupported

    # connections

    def connection(
        self,
        type_name: str,
        edge_type: str,
        table: str,
        where: Callable[[str], str],
        order: str,
        node: Callable[[str, list[FieldNode]], str],
        nodes: list[FieldNode],
        args: dict[str, Any],
    ) -> str:
        first = check_range("first", int(args.get("first", 20)), 1, MAX_PAGE)
        offset = decode_cursor(args.get("after"))
        p, q, n = self.alias("p"), self.alias("q"), self.alias("n")
        off = self.param(offset, "bigint")
        total = f"coalesce(max({p}._total), (SELECT count(*) FROM {table} {n} WHERE {where(n)}))"
        count = f"count({p}._i)"
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields(type_name, nodes):
            if name == "__typename":
                expr = _typename(type_name)
            elif name == "totalCount":
                expr = total
            elif name == "nodes":
                expr = f"coalesce(json_agg({node(p, field_nodes)} ORDER BY {p}._i), '[]'::json)"
            elif name == "edges":
                edge = self.edge(edge_type, p, field_nodes, node)
                expr = f"coalesce(json_agg({edge} ORDER BY {p}._i), '[]'::json)"
            elif name == "pageInfo":
                expr = self.page_info(field_nodes, off, count, total)
            else:
                raise Unsupported
            parts.append((key, expr))
        ordered = order.format(q=q)
        page = (
            f"SELECT {q}.*, count(*) OVER () AS _total, "
            f"row_number() OVER (ORDER BY {ordered}) - 1 AS _i "
            f"FROM {table} {q} WHERE {where(q)} ORDER BY {ordered} "
            f"OFFSET {off} LIMIT {self.param(first, 'bigint')}"
        )
        return f"(SELECT {_object(parts)} FROM ({page}) {p})"

    def edge(
        self,
        edge_type: str,
        p: str,
        nodes: list[FieldNode],
        node: Callable[[str, list[FieldNode]], str],
    ) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields(edge_type, nodes):
            if name == "__typename":
                parts.append((key, _typename(edge_type)))
            elif name == "cursor":
                parts.append((key, _cursor(f"{p}._i")))
            elif name == "node":
                parts.append((key, node(p, field_nodes)))
            else:
                raise Unsupported
        return _object(parts)

    def page_info(self, nodes: list[FieldNode], off: str, count: str, total: str) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields("PageInfo", nodes):
            if name == "__typename":
                expr = _typename("PageInfo")
            elif name == "hasNextPage":
                expr = f"({off} + {count} < {total})"
            elif name == "hasPreviousPage":
                expr = f"({off} > 0)"
            elif name == "startCursor":
                expr = f"CASE WHEN {count} > 0 THEN {_cursor(off)} END"
            elif name == "endCursor":
                expr = f"CASE WHEN {count} > 0 THEN {_cursor(f'{off} + {count} - 1')} END"
            else:
                raise Unsupported
            parts.append((key, expr))
        return _object(parts)

    def concept_connection(self, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        given = _input(ConceptFilterInput, args.get("filter"))
        flt = given.to_domain() if given is not None else None
        if (
            flt is not None
            and flt.era_from is not None
            and flt.era_to is not None
            and flt.era_to < flt.era_from
        ):
            raise Unsupported
        order = ConceptOrder(_value(args.get("order_by", args.get("orderBy", "NAME_ASC"))))
        shared = self.shared_params()

        def where(q: str) -> str:
            conds = ["TRUE"]
            if flt is None:
                return conds[0]
            if flt.search:
                pattern = shared("search", like_pattern(flt.search), "text")
                columns = ("name", "summary", "aliases", "slug")
                conds.append(
                    "("
                    + " OR ".join(
                        f"lower(CAST({q}.{col} AS VARCHAR)) LIKE {pattern} ESCAPE '\\'"
                        for col in columns
                    )
                    + ")"
                )
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
            _CONCEPT_ORDER[order],
            self.concept,
            nodes,
            args,
        )

    def thesis_connection(self, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        given = _input(ThesisFilterInput, args.get("filter"))
        flt = given.to_domain() if given is not None else None
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
                conds.append(f"lower(CAST({q}.statement AS VARCHAR)) LIKE {value} ESCAPE '\\'")
            return " AND ".join(conds)

        return self.connection(
            "ThesisConnection",
            "ThesisEdge",
            "theses",
            where,
            _NEWEST_FIRST,
            self.thesis,
            nodes,
            args,
        )

    # objects

    def concept(self, a: str, nodes: list[FieldNode]) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, args in self.fields("Concept", nodes):
            if name == "__typename":
                expr = _typename("Concept")
            elif name in _CONCEPT_COLUMNS:
                expr = f"{a}.{_CONCEPT_COLUMNS[name]}"
            elif name in _TIMESTAMPS:
                expr = _timestamp(f"{a}.{_TIMESTAMPS[name]}")
            elif name == "tags":
                expr = _tags(f"{a}.tags")
            elif name == "aliases":
                expr = f"coalesce({a}.aliases, '[]'::json)"
            elif name == "theses":
                expr = self.theses_of(a, field_nodes, args)
            elif name == "thesisCount":
                n = self.alias("n")
                expr = f"(SELECT count(*) FROM theses {n} WHERE {n}.concept_id = {a}.id)"
            elif name == "relations":
                expr = self.relations_of(a, field_nodes, args)
            elif name == "author":
                u = self.alias("u")
                user = self.user(u, field_nodes)
                expr = f"(SELECT {user} FROM users {u} WHERE {u}.id = {a}.author_id)"
            else:
                raise Unsupported
            parts.append((key, expr))
        return _object(parts)

    def theses_of(self, a: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        first = check_range("first", int(args.get("first", 20)), 1, MAX_PAGE)
        t = self.alias("t")
        cond = f"{t}.concept_id = {a}.id"
        if args.get("stance") is not None:
            cond += f" AND {t}.stance = {self.param(_value(args['stance']), 'varchar')}"
        order = _NEWEST_FIRST.format(q=t)
        source = (
            f"(SELECT * FROM theses {t} WHERE {cond} ORDER BY {order} "
            f"LIMIT {self.param(first, 'bigint')}) {t}"
        )
        return _json_list(self.thesis(t, nodes), order, source)

    def relations_of(self, a: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        direction = Direction(_value(args.get("direction", Direction.BOTH)))
        r = self.alias("r")
        if direction is Direction.OUTGOING:
            cond = f"{r}.source_id = {a}.id"
        elif direction is Direction.INCOMING:
            cond = f"{r}.target_id = {a}.id"
        else:
            cond = f"({r}.source_id = {a}.id OR {r}.target_id = {a}.id)"
        types = args.get("types")
        if types:
            values = sorted({_value(t) for t in types})
            cond += f" AND {r}.type = ANY({self.param(values, 'varchar[]')})"
        return _json_list(
            self.relation(r, nodes), _RELATION_ORDER.format(q=r), f"relations {r} WHERE {cond}"
        )

    def relation(self, r: str, nodes: list[FieldNode]) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields("Relation", nodes):
            if name == "__typename":
                expr = _typename("Relation")
            elif name in _RELATION_COLUMNS:
                expr = f"{r}.{_RELATION_COLUMNS[name]}"
            elif name == "weight":
                expr = _float(f"{r}.weight")
            elif name == "createdAt":
                expr = _timestamp(f"{r}.created_at")
            elif name == "provenance":
                expr = self.provenance(field_nodes, f"{r}.provenance", f"{r}.model", "NULL::text")
            elif name in ("source", "target"):
                c = self.alias("c")
                expr = (
                    f"(SELECT {self.concept(c, field_nodes)} FROM concepts {c} "
                    f"WHERE {c}.id = {r}.{name}_id)"
                )
            else:
                raise Unsupported
            parts.append((key, expr))
        return _object(parts)

    def thesis(self, t: str, nodes: list[FieldNode]) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, field_nodes, _ in self.fields("Thesis", nodes):
            if name == "__typename":
                expr = _typename("Thesis")
            elif name in _THESIS_COLUMNS:
                expr = f"{t}.{_THESIS_COLUMNS[name]}"
            elif name in _TIMESTAMPS:
                expr = _timestamp(f"{t}.{_TIMESTAMPS[name]}")
            elif name == "tags":
                expr = _tags(f"{t}.tags")
            elif name == "relatedConceptIds":
                expr = f"coalesce({t}.related_concept_ids, '[]'::json)"
            elif name == "provenance":
                expr = self.provenance(
                    field_nodes, f"{t}.provenance", f"{t}.model", f"{t}.prompt_version"
                )
            elif name == "arguments":
                expr = self.embedded(
                    "Argument",
                    f"{t}.arguments",
                    field_nodes,
                    ("id", "polarity", "text", "strength"),
                )
            elif name == "sources":
                expr = self.embedded(
                    "Source", f"{t}.sources", field_nodes, ("author", "work", "year", "url")
                )
            elif name == "concept":
                c = self.alias("c")
                expr = (
                    f"(SELECT {self.concept(c, field_nodes)} FROM concepts {c} "
                    f"WHERE {c}.id = {t}.concept_id)"
                )
            else:
                raise Unsupported
            parts.append((key, expr))
        return _object(parts)

    def embedded(
        self, type_name: str, column: str, nodes: list[FieldNode], known: tuple[str, ...]
    ) -> str:
        """A list kept as a JSON column (a thesis's arguments or sources), in stored order."""
        x = self.alias("x")
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields(type_name, nodes):
            if name == "__typename":
                parts.append((key, _typename(type_name)))
            elif name in known:
                parts.append((key, f"{x}.e -> '{name}'"))
            else:
                raise Unsupported
        return _json_list(
            _object(parts), f"{x}.n", f"json_array_elements({column}) WITH ORDINALITY AS {x}(e, n)"
        )

    def provenance(self, nodes: list[FieldNode], kind: str, model: str, prompt: str) -> str:
        columns = {"kind": kind, "model": model, "promptVersion": prompt}
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields("Provenance", nodes):
            if name == "__typename":
                parts.append((key, _typename("Provenance")))
            elif name in columns:
                parts.append((key, columns[name]))
            else:
                raise Unsupported
        return _object(parts)

    def user(self, u: str, nodes: list[FieldNode]) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields("User", nodes):
            if name == "__typename":
                parts.append((key, _typename("User")))
            elif name in _USER_COLUMNS:
                parts.append((key, f"{u}.{_USER_COLUMNS[name]}"))
            elif name == "createdAt":
                parts.append((key, _timestamp(f"{u}.created_at")))
            else:
                raise Unsupported
        return _object(parts)
