"""Limits a query must pass before anything runs, with defaults near GraphQL Armor's.

- depth, aliases: validation rules. They are built once per limit value, so the validation
  cache key (document + rule classes) stays the same from request to request and the cache
  keeps hitting (a rule class made per request would miss every time);
- tokens: the parser's own ``max_tokens``;
- cost: checked with the request's variables just before execution. It estimates store work
  and answer size from what the schema declares of each field (``types/hints.py``): a list
  costs its ``first`` (or that argument's default) — or, without ``first``, the number of items
  it is assumed to hold — times what is selected inside it; a field that calls a store for
  each parent adds ``CALL_COST`` per call; walks (``neighbours``, ``path``, ``graph``) grow with
  their ``depth``/``maxDepth``. A rejected operation runs no resolver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    value_from_ast,
)
from graphql.validation import ASTValidationRule, ValidationContext
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

from philos.types.hints import STORE_COST, StoreCost, metadata


def _depth_limit(max_depth: int) -> type[ASTValidationRule]:
    """Strawberry's depth rule, which raises (an unexpected error) on two documents: a spread
    of an unknown fragment, which ``KnownFragmentNamesRule`` reports, and an empty selection
    set, whose depth it cannot measure and which is refused here."""
    measured = depth_rule(max_depth, None, None)

    class DepthLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            try:
                measured(context)
            except KeyError:
                pass  # the unknown fragment is reported by its own rule
            except ValueError:
                context.report_error(GraphQLError("Selection sets must not be empty."))

    return DepthLimit


@cache
def validation_rules(max_depth: int, max_aliases: int) -> tuple[type[ASTValidationRule], ...]:
    return (_depth_limit(max_depth), alias_rule(max_aliases))


def limit_rules(max_depth: int, max_aliases: int) -> AddValidationRules:
    return AddValidationRules(list(validation_rules(max_depth, max_aliases)))


MAX_INT = 2**31 - 1  # GraphQL's Int
# What one store call made for each parent costs, in the units of one selected field.
CALL_COST = 10
MAX_STEPS = 6  # deeper walks are refused by their resolvers anyway
NO_STORE_COST = StoreCost()


class _Coster:
    """Costs saturate just past ``ceiling``: enough to reject, never a huge number."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        schema: Any,
        ceiling: int,
    ) -> None:
        self.fragments = fragments
        self.variables = variables
        self.schema = schema
        self.ceiling = ceiling

    def selection_cost(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> int:
        total = 0
        for selection in selection_set.selections:
            if total > self.ceiling:
                break
            if isinstance(selection, FieldNode):
                total += self.field_cost(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.selection_cost(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection_cost(fragment.selection_set, target)
        return min(total, self.ceiling + 1)

    def _int_argument(self, node: FieldNode, definition: Any, name: str) -> int | None:
        """A sane Int argument as the request gives it (or its default); None otherwise."""
        declared = definition.args.get(name)
        if declared is None:
            return None
        given = next((a for a in node.arguments or () if a.name.value == name), None)
        value = (
            value_from_ast(given.value, declared.type, dict(self.variables))
            if given is not None
            else declared.default_value
        )
        # The raw variables are not coerced yet: anything but a sane Int counts as absent here
        # and fails coercion later with its own error.
        return value if isinstance(value, int) and 1 <= value <= MAX_INT else None

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if node.name.value.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 1
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1
        hint = metadata(definition).get(STORE_COST) or NO_STORE_COST
        growth = 1
        if hint.per_depth > 1:
            steps = self._int_argument(node, definition, "depth")
            steps = steps or self._int_argument(node, definition, "maxDepth") or 1
            growth = hint.per_depth ** (min(steps, MAX_STEPS) - 1)
        first = self._int_argument(node, definition, "first")
        if first is not None:
            multiplier = first
        elif isinstance(get_nullable_type(definition.type), GraphQLList):
            multiplier = hint.items * growth  # a walk's list widens with every step
        else:
            multiplier = 1
        inner = 0
        if node.selection_set is not None:
            inner = self.selection_cost(node.selection_set, get_named_type(definition.type))
        calls = CALL_COST * hint.calls * growth
        return min(1 + calls + multiplier * inner, self.ceiling + 1)


def operation_cost(
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    schema: Any,
    ceiling: int,
) -> int:
    """The operation's cost, or ``ceiling + 1`` for anything dearer."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return 0
    root = schema.get_root_type(chosen.operation)
    coster = _Coster(fragments, variables or {}, schema, ceiling)
    return coster.selection_cost(chosen.selection_set, root)


class CostLimit(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        super().__init__()
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is not None:
            cost = operation_cost(
                ctx.graphql_document,
                ctx.operation_name,
                ctx.variables,
                ctx.schema._schema,
                self.max_cost,
            )
            if cost > self.max_cost:
                ctx.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"The query is too expensive: its cost is over the limit of "
                            f"{self.max_cost}. Ask for smaller pages (`first`) or fewer "
                            "nested lists.",
                            extensions={"code": "COST_LIMIT_EXCEEDED", "limit": self.max_cost},
                        )
                    ],
                )
        yield


class ResponseSizeLimit(SchemaExtension):
    """An answer larger than ``max_bytes`` is replaced by an error (and never cached).

    The cost limit estimates the size before anything runs; real lists can be longer than
    the estimate (a concept with a thousand relations), so the answer itself is measured too.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not isinstance(result, ExecutionResult) or result.data is None:
            return
        size = len(orjson.dumps(result.data))
        if size > self.max_bytes:
            # In place: Strawberry answers with the result object execution returned.
            result.data = None
            result.errors = [
                GraphQLError(
                    f"The answer would be {size} bytes, over this server's limit of "
                    f"{self.max_bytes}. Ask for smaller pages (`first`), shallower walks "
                    "or fewer fields.",
                    extensions={"code": "RESPONSE_TOO_LARGE", "limit": self.max_bytes},
                )
            ]


def cost_hints(schema: Any) -> dict[str, Any]:
    """The cost model of ``schema`` as data, for a gateway in front of the subgraphs to apply
    the same limit (``deploy/federation/cost.mjs``): the constants and, per ``Type.field``,
    the hints that differ from the default."""
    fields: dict[str, dict[str, int]] = {}
    for type_name, named in sorted(schema.type_map.items()):
        if type_name.startswith("__") or not isinstance(
            named, GraphQLObjectType | GraphQLInterfaceType
        ):
            continue
        for field_name, definition in named.fields.items():
            hint = metadata(definition).get(STORE_COST)
            if hint is not None and hint != NO_STORE_COST:
                fields[f"{type_name}.{field_name}"] = {
                    "calls": hint.calls,
                    "items": hint.items,
                    "perDepth": hint.per_depth,
                }
    return {"callCost": CALL_COST, "maxSteps": MAX_STEPS, "maxInt": MAX_INT, "fields": fields}
