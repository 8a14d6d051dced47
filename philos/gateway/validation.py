"""Validation of a document, once per distinct document, and almost free for a trivial one.

graphql-core's ``validate`` builds every rule (the spec's 32, the depth and alias limits,
introspection off in production, Strawberry's own) and walks the document with all of them:
about a millisecond and a half of CPU even for ``{ t1: __typename }``, most of it building the
rules and their visitors, before the first node is looked at. Its results are kept per
document (a bounded LRU, as Strawberry's ``ValidationCache`` did), which helps only documents
that repeat.

A *trivial* document is one query operation without variables or directives whose every
selection is ``__typename`` (aliased or not), with no arguments, directives or sub-selection.
No rule of the known set can fail on one but the alias limit: every field exists on the root
type, is a leaf, takes no argument and merges with every other (they are all the same field);
there is no fragment, variable, directive or type name to check, and its depth is 0. So a
trivial document within the alias limit is valid without running the rules. Anything else —
a trivial document over the alias limit, or any rule outside the known set (which this module
cannot reason about) — goes through the full ``validate`` and gets its exact errors.
``tests/unit/test_validation_fast_path.py`` checks that both paths agree on generated documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    specified_rules,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from philos.gateway.documents import PerDocument
from philos.gateway.query_limits import validation_rules

TYPENAME = "__typename"
# Rules that hold for every trivial document (see the module docstring).
TRIVIALLY_MET: frozenset[type[ASTValidationRule]] = frozenset(
    (*specified_rules, NoSchemaIntrospectionCustomRule)
)

Validate = Callable[
    [GraphQLSchema, DocumentNode, tuple[type[ASTValidationRule], ...]], list[GraphQLError]
]


def trivial_aliases(document: DocumentNode) -> int | None:
    """The number of aliases of a trivial document, or None if ``document`` is not trivial."""
    if len(document.definitions) != 1:
        return None
    operation = document.definitions[0]
    if (
        not isinstance(operation, OperationDefinitionNode)
        or operation.operation is not OperationType.QUERY
        or operation.variable_definitions
        or operation.directives
    ):
        return None
    selections = operation.selection_set.selections
    if not selections:
        return None
    aliases = 0
    for selection in selections:
        if (
            not isinstance(selection, FieldNode)
            or selection.name.value != TYPENAME
            or selection.arguments
            or selection.directives
            or selection.selection_set is not None
        ):
            return None
        if selection.alias is not None:
            aliases += 1
    return aliases


#: A document object seen before is not hashed again (the LRU below hashes the whole tree).
VERDICTS: PerDocument[list[GraphQLError]] = PerDocument()


@lru_cache(maxsize=8)
def cached_validate(maxsize: int) -> Validate:
    """One LRU per size, shared by every request (extensions are made per request)."""
    return lru_cache(maxsize=maxsize)(validate_document)


class DocumentValidation(SchemaExtension):
    """Runs validation itself (Strawberry then skips its own): the trivial check, else the
    full rules through the LRU."""

    def __init__(self, maxsize: int, max_depth: int, max_aliases: int) -> None:
        super().__init__()
        self.validate = cached_validate(maxsize)
        self.depth_rule, self.alias_rule = validation_rules(max_depth, max_aliases)
        self.max_aliases = max_aliases

    def trivially_valid(self, document: DocumentNode, rules: tuple[Any, ...]) -> bool:
        aliases = trivial_aliases(document)
        if aliases is None or aliases > self.max_aliases:
            return False
        return all(r in TRIVIALLY_MET or r in (self.depth_rule, self.alias_rule) for r in rules)

    def verdict(self, schema: Any, document: DocumentNode, rules: Any) -> list[GraphQLError]:
        if self.trivially_valid(document, rules):
            return []
        errors: list[GraphQLError] = self.validate(schema, document, rules)
        return errors

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None:
            rules = ctx.validation_rules
            schema = ctx.schema._schema
            ctx.pre_execution_errors = VERDICTS.get(
                document, (schema, tuple(rules)), lambda: self.verdict(schema, document, rules)
            )
        yield
