"""Documents from the schema, rewritten the many ways a client may write the same selection.

hypothesis-graphql writes a valid query; ``rewritten`` then, field by field, may give it an
alias, put ``@include``/``@skip`` on it (literal or through a variable), and wrap it in an
inline fragment (with or without a type condition) or a named fragment, possibly several
times over. Every rewrite keeps the document valid and selecting the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    print_ast,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

WRAPS = ["none", "none", "inline", "typed", "named"]
DIRECTIVES = ["none", "none", "include", "skip", "include_var", "skip_var"]


def _name(value: str) -> NameNode:
    return NameNode(value=value)


@dataclass
class _Rewrite:
    schema: GraphQLSchema
    draw: Any
    fragments: list[FragmentDefinitionNode] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)
    count: int = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def directives(self) -> tuple[DirectiveNode, ...]:
        kind = self.draw(st.sampled_from(DIRECTIVES))
        if kind == "none":
            return ()
        name = "include" if kind.startswith("include") else "skip"
        if kind.endswith("_var"):
            variable = "yes" if name == "include" else "no"
            self.variables.add(variable)
            value: Any = VariableNode(name=_name(variable))
        else:
            value = BooleanValueNode(value=name == "include")
        argument = ArgumentNode(name=_name("if"), value=value)
        return (DirectiveNode(name=_name(name), arguments=(argument,)),)

    def wrap(self, selection: SelectionNode, parent: GraphQLNamedType) -> SelectionNode:
        for _ in range(self.draw(st.integers(0, 2))):
            kind = self.draw(st.sampled_from(WRAPS))
            inner = SelectionSetNode(selections=(selection,))
            if kind == "inline":
                selection = InlineFragmentNode(
                    type_condition=None, directives=self.directives(), selection_set=inner
                )
            elif kind == "typed":
                selection = InlineFragmentNode(
                    type_condition=NamedTypeNode(name=_name(parent.name)),
                    directives=(),
                    selection_set=inner,
                )
            elif kind == "named":
                name = self.fresh("Part")
                self.fragments.append(
                    FragmentDefinitionNode(
                        name=_name(name),
                        type_condition=NamedTypeNode(name=_name(parent.name)),
                        directives=(),
                        selection_set=inner,
                    )
                )
                selection = FragmentSpreadNode(name=_name(name), directives=())
        return selection

    def selection_set(self, node: SelectionSetNode, parent: GraphQLNamedType) -> SelectionSetNode:
        out: list[SelectionNode] = []
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                out.append(self.wrap(self.field(selection, parent), parent))
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                out.append(
                    InlineFragmentNode(
                        type_condition=selection.type_condition,
                        directives=selection.directives,
                        selection_set=self.selection_set(selection.selection_set, target),
                    )
                )
            else:
                out.append(selection)
        return SelectionSetNode(selections=tuple(out))

    def field(self, node: FieldNode, parent: GraphQLNamedType) -> FieldNode:
        inner = node.selection_set
        if inner is not None and isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(node.name.value)
            if definition is not None:
                inner = self.selection_set(inner, get_named_type(definition.type))
        alias = node.alias
        if alias is None and self.draw(st.booleans()):
            alias = _name(self.fresh("as"))
        return FieldNode(
            alias=alias,
            name=node.name,
            arguments=node.arguments,
            directives=self.directives(),
            selection_set=inner,
        )


def rewrite(schema: GraphQLSchema, document: DocumentNode, draw: Any) -> str:
    """``document`` (one query) written another way, as text."""
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    rewriter = _Rewrite(schema, draw)
    root = schema.query_type
    assert root is not None
    selection_set = rewriter.selection_set(operation.selection_set, root)
    variables = tuple(
        VariableDefinitionNode(
            variable=VariableNode(name=_name(v)),
            type=NonNullTypeNode(type=NamedTypeNode(name=_name("Boolean"))),
            default_value=BooleanValueNode(value=v == "yes"),
            directives=(),
        )
        for v in sorted(rewriter.variables)
    )
    named = draw(st.booleans())
    query = OperationDefinitionNode(
        operation=OperationType.QUERY,
        name=_name("Probe") if named or variables else None,
        variable_definitions=variables,
        directives=(),
        selection_set=selection_set,
    )
    return print_ast(DocumentNode(definitions=(query, *rewriter.fragments)))


@st.composite
def queries_reaching(draw: Any, schema: GraphQLSchema, field_name: str) -> str:
    """A query that selects root field ``field_name`` (with other root fields, sometimes),
    rewritten with aliases, directives and fragments."""
    document = draw(queries(schema, fields=[field_name], print_ast=lambda d: d))
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    selections = list(operation.selection_set.selections)
    root = schema.query_type
    assert root is not None
    others = sorted(n for n in root.fields if n != field_name)
    if draw(st.booleans()):
        extra = draw(queries(schema, fields=[draw(st.sampled_from(others))], print_ast=lambda d: d))
        extra_op = next(d for d in extra.definitions if isinstance(d, OperationDefinitionNode))
        selections[0:0] = extra_op.selection_set.selections
    merged = DocumentNode(
        definitions=(
            OperationDefinitionNode(
                operation=OperationType.QUERY,
                name=None,
                variable_definitions=(),
                directives=(),
                selection_set=SelectionSetNode(selections=tuple(selections)),
            ),
        )
    )
    return rewrite(schema, merged, draw)


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of ``strategy``, the same ones on every run.

    For async tests over one app: the cases are drawn up front (hypothesis runs its sync
    engine here), then sent one by one; a failure names the case it failed on.
    """
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found
