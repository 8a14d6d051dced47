"""Limits a query must pass before anything runs, with defaults near GraphQL Armor's.

- depth, aliases: validation rules. They are built once per limit value, so the validation
  cache key (document + rule classes) stays the same from request to request and the cache
  keeps hitting (a rule class made per request would miss every time);
- tokens: the parser's own ``max_tokens``;
- cost: checked with the request's variables just before execution; a list costs its
  ``first`` (or that argument's default) times what is selected inside it. A rejected
  operation runs no resolver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule


@cache
def validation_rules(max_depth: int, max_aliases: int) -> tuple[type[ASTValidationRule], ...]:
    return (depth_rule(max_depth, None, None), alias_rule(max_aliases))


def limit_rules(max_depth: int, max_aliases: int) -> AddValidationRules:
    return AddValidationRules(list(validation_rules(max_depth, max_aliases)))


MAX_INT = 2**31 - 1  # GraphQL's Int


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

    def field_cost(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        if node.name.value.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 1
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 1
        multiplier = 1
        first = definition.args.get("first")
        if first is not None:
            given = next((a for a in node.arguments or () if a.name.value == "first"), None)
            value = (
                value_from_ast(given.value, first.type, dict(self.variables))
                if given is not None
                else first.default_value
            )
            # The raw variables are not coerced yet: anything but a sane Int counts as 1 here
            # and fails coercion later with its own error.
            multiplier = value if isinstance(value, int) and 1 <= value <= MAX_INT else 1
        inner = 0
        if node.selection_set is not None:
            inner = self.selection_cost(node.selection_set, get_named_type(definition.type))
        return min(1 + multiplier * inner, self.ceiling + 1)


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
