"""Which attributes of its records a list's selection reads, so the store reads no others.

``theses { statement }`` needs a thesis's statement, not its arguments and sources, whose
decoding was most of what reading theses cost. The selection is read from the document's
syntax tree, through fragments, once per request for each place in the document. A plain
field reads the attribute of its name; a resolver field reads what its ``reads`` hint says
(``types/hints.py``) and, without one, the whole record. Directives are not evaluated: a field
under ``@skip`` or ``@include`` counts as selected, which reads at most a little more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)

from philos.types.hints import READS, metadata

_DEFINITION = "strawberry-definition"
# (object type, the record's attributes) -> its fields' reads; the type is kept so its id
# stays its own.
_READS: dict[tuple[int, frozenset[str]], tuple[Any, dict[str, frozenset[str] | None]]] = {}


def selected_names(info: Any) -> Iterator[str]:
    """The names of the fields selected under the current field, directly or through
    fragments (each fragment once), in document order; names may repeat."""
    raw = info._raw_info
    pending: list[SelectionSetNode | None] = [node.selection_set for node in raw.field_nodes]
    seen: set[str] = set()
    while pending:
        selection_set = pending.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = raw.fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.append(fragment.selection_set)


def _field_reads(of: GraphQLObjectType, attributes: frozenset[str]) -> dict[str, Any]:
    key = (id(of), attributes)
    known = _READS.get(key)
    if known is None or known[0] is not of:
        table: dict[str, frozenset[str] | None] = {"__typename": frozenset()}
        for name, field in of.fields.items():
            declared = metadata(field).get(READS)
            definition = (field.extensions or {}).get(_DEFINITION)
            python_name = getattr(definition, "python_name", None)
            if declared is not None:
                table[name] = frozenset(declared)
            elif getattr(definition, "base_resolver", True) is None and python_name in attributes:
                table[name] = frozenset({python_name})
            else:
                table[name] = None  # a resolver that may read anything
        known = _READS[key] = (of, table)
    return known[1]


def read_attributes(info: Any, attributes: frozenset[str]) -> frozenset[str] | None:
    """The attributes of the current list field's records that its selection reads (None:
    it may read any of ``attributes``, the record's). Worked out once per request for each
    place in the document."""
    memo: dict[Any, frozenset[str] | None] = info.context.selections
    key = tuple(id(node) for node in info._raw_info.field_nodes)
    if key in memo:
        return memo[key]
    of = get_named_type(info._raw_info.return_type)
    answer: frozenset[str] | None = frozenset()
    if not isinstance(of, GraphQLObjectType):
        answer = None
    else:
        table = _field_reads(of, attributes)
        for name in selected_names(info):
            reads = table.get(name)
            if reads is None:
                answer = None
                break
            answer = answer | reads if answer is not None else None
    memo[key] = answer
    return answer
