"""Objects for the query compiler: each GraphQL object type as a ``json_build_object`` over
its row, lists as ``json_agg`` sub-selects (see ``sql.py``)."""

# Statements are assembled from fixed fragments: table and column names come from the SQL
# tables (columns.py), aliases are generated, and every value a client sends is a bound
# parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.values import get_argument_values

from philos.compile.columns import embedded_keys, newest_first, relation_order, row_fields
from philos.compile.coverage import check_arguments
from philos.compile.fragments import (
    Unsupported,
    enum_value,
    json_list,
    json_object,
    typename,
)
from philos.domain import Direction
from philos.types.arguments import theses_of_first

Field = tuple[str, str, list[FieldNode], dict[str, Any]]  # key, name, nodes, arguments


class Objects:
    """Field collection, bound parameters and the object types below the root."""

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
                if isinstance(self.schema.type_map.get(condition.name.value), GraphQLObjectType):
                    continue  # another object type (a union's other member): never applies
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
            check_arguments(type_name, name, definition)
            arguments = get_argument_values(definition, field_nodes[0], self.variables)
            out.append((key, name, field_nodes, arguments))
        return out

    # objects

    def row_field(self, type_name: str, row: str, name: str) -> str | None:
        """A field read straight off the row (``__typename``, or a column of the type's table
        in its format, see ``columns.py``); None for anything else."""
        if name == "__typename":
            return typename(type_name)
        object_type = self.schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        found = row_fields(object_type).get(name)
        if found is None:
            return None
        column, fmt = found
        return fmt(f"{row}.{column}")

    def concept(self, a: str, nodes: list[FieldNode]) -> str:
        return json_object(
            [
                (
                    key,
                    self.row_field("Concept", a, name)
                    or self.concept_field(a, name, field_nodes, args),
                )
                for key, name, field_nodes, args in self.fields("Concept", nodes)
            ]
        )

    def concept_field(self, a: str, name: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        if name == "theses":
            return self.theses_of(a, nodes, args)
        if name == "thesisCount":
            n = self.alias("n")
            return f"(SELECT count(*) FROM theses {n} WHERE {n}.concept_id = {a}.id)"  # nosec B608
        if name == "relations":
            return self.relations_of(a, nodes, args)
        if name == "author":
            u = self.alias("u")
            user = self.user(u, nodes)
            return f"(SELECT {user} FROM users {u} WHERE {u}.id = {a}.author_id)"  # nosec B608
        raise Unsupported

    def theses_of(self, a: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        first = theses_of_first(int(args["first"]))
        t = self.alias("t")
        cond = f"{t}.concept_id = {a}.id"
        if args.get("stance") is not None:
            cond += f" AND {t}.stance = {self.param(enum_value(args['stance']), 'varchar')}"
        order = newest_first(t)
        source = (
            f"(SELECT * FROM theses {t} WHERE {cond} ORDER BY {order} "  # nosec B608
            f"LIMIT {self.param(first, 'bigint')}) {t}"
        )
        return json_list(self.thesis(t, nodes), order, source)

    def relations_of(self, a: str, nodes: list[FieldNode], args: dict[str, Any]) -> str:
        direction = Direction(enum_value(args["direction"]))
        r = self.alias("r")
        if direction is Direction.OUTGOING:
            cond = f"{r}.source_id = {a}.id"
        elif direction is Direction.INCOMING:
            cond = f"{r}.target_id = {a}.id"
        else:
            cond = f"({r}.source_id = {a}.id OR {r}.target_id = {a}.id)"
        types = args.get("types")
        if types:
            values = sorted({enum_value(t) for t in types})
            cond += f" AND {r}.type = ANY({self.param(values, 'varchar[]')})"
        return json_list(self.relation(r, nodes), relation_order(r), f"relations {r} WHERE {cond}")

    def relation(self, r: str, nodes: list[FieldNode]) -> str:
        return json_object(
            [
                (
                    key,
                    self.row_field("Relation", r, name)
                    or self.relation_field(r, name, field_nodes),
                )
                for key, name, field_nodes, _ in self.fields("Relation", nodes)
            ]
        )

    def relation_field(self, r: str, name: str, nodes: list[FieldNode]) -> str:
        if name == "provenance":
            return self.provenance(nodes, f"{r}.provenance", f"{r}.model", "NULL::text")
        if name in ("source", "target"):
            return self.concept_by_id(nodes, f"{r}.{name}_id")
        raise Unsupported

    def concept_by_id(self, nodes: list[FieldNode], column: str) -> str:
        """A related concept, or null once it has been deleted."""
        c = self.alias("c")
        concept = self.concept(c, nodes)
        return f"(SELECT {concept} FROM concepts {c} WHERE {c}.id = {column})"  # nosec B608

    def thesis(self, t: str, nodes: list[FieldNode]) -> str:
        return json_object(
            [
                (
                    key,
                    self.row_field("Thesis", t, name) or self.thesis_field(t, name, field_nodes),
                )
                for key, name, field_nodes, _ in self.fields("Thesis", nodes)
            ]
        )

    def thesis_field(self, t: str, name: str, nodes: list[FieldNode]) -> str:
        if name == "provenance":
            return self.provenance(nodes, f"{t}.provenance", f"{t}.model", f"{t}.prompt_version")
        if name == "arguments":
            return self.embedded("Argument", f"{t}.arguments", nodes)
        if name == "sources":
            return self.embedded("Source", f"{t}.sources", nodes)
        if name == "concept":
            return self.concept_by_id(nodes, f"{t}.concept_id")
        raise Unsupported

    def embedded(self, type_name: str, column: str, nodes: list[FieldNode]) -> str:
        """A list kept as a JSON column (a thesis's arguments or sources), in stored order."""
        x = self.alias("x")
        object_type = self.schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        known = embedded_keys(object_type)
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields(type_name, nodes):
            if name == "__typename":
                parts.append((key, typename(type_name)))
            elif name in known:
                parts.append((key, f"{x}.e -> '{known[name]}'"))
            else:
                raise Unsupported
        return json_list(
            json_object(parts),
            f"{x}.n",
            f"json_array_elements({column}) WITH ORDINALITY AS {x}(e, n)",
        )

    def provenance(self, nodes: list[FieldNode], kind: str, model: str, prompt: str) -> str:
        columns = {"kind": kind, "model": model, "promptVersion": prompt}
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields("Provenance", nodes):
            if name == "__typename":
                parts.append((key, typename("Provenance")))
            elif name in columns:
                parts.append((key, columns[name]))
            else:
                raise Unsupported
        return json_object(parts)

    def user(self, u: str, nodes: list[FieldNode]) -> str:
        parts: list[tuple[str, str]] = []
        for key, name, _, _ in self.fields("User", nodes):
            expr = self.row_field("User", u, name)
            if expr is None:
                raise Unsupported
            parts.append((key, expr))
        return json_object(parts)
