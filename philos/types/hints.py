"""What the schema says about its fields beyond their types, for the gateway to act on.

Each hint is metadata on the Strawberry field or argument where it is declared, so it is
stated once, beside the field, and read back from graphql-core's definitions:

- **per caller**: the field answers differently for each signed-in user (``me``). No answer
  that reads such a field may be shared between callers: the response cache and the
  raw-request index skip any operation that reaches one, however the document reaches it;
- **max items**: the longest list a list argument or input field accepts. The limit is checked
  before anything runs, and the field's description states it;
- **store cost**: what one resolution of the field costs in store work, and how many items an
  unpaged list is assumed to hold, for the query cost limit (``gateway/query_limits.py``);
- **in hand**: for an object field whose resolver answers at once when the request already
  holds the value (``Relation.target`` once the relation list loaded its ends), the function
  ``(source, context)`` that gives that value, or ``NOT_LOADED`` when it is not in hand. A
  list whose items select such a field, with plain fields under it, is then still built in
  one pass (``schema/execution.py``);
- **per level**: for a list field whose values for many parents come from one batched call,
  the function ``(info, parents, **arguments)`` that answers them for a whole list level at
  once, in the parents' order. The resolver answers what that function answers for
  ``[self]``; a list of parents selecting the field is then built in one pass, with one call
  of the function for all its items (``schema/execution.py``). The function must not depend on
  ``info.path``: it gets one ``info`` for the whole level;
- **reads**: for a field with a resolver, the attributes of its record the resolver reads
  (``Thesis.concept`` reads ``concept_id``). A list read from a store with only the attributes
  its selection reads (``types/projection.py``) then knows what such a field needs; a resolver
  field without the hint needs the whole record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry

PER_CALLER = "philos.per_caller"
MAX_ITEMS = "philos.max_items"
STORE_COST = "philos.store_cost"
IN_HAND = "philos.in_hand"
PER_LEVEL = "philos.per_level"
READS = "philos.reads"
# The definition Strawberry keeps in each graphql-core field, argument and input field.
_DEFINITION = "strawberry-definition"


@dataclass(frozen=True, slots=True)
class StoreCost:
    """The cost of one resolution of a field, beyond the 1 every field costs.

    ``calls``: store round trips made for each parent (0 for fields batched per level by a
    DataLoader, whose one call serves every parent); ``items``: how many entries a list without
    ``first`` is assumed to hold, which multiplies what is selected inside it; ``per_depth``:
    for walks, ``calls`` (and ``items``, for a field that is itself a list) grow by this factor
    for each step of ``depth`` (or ``maxDepth``) past the first.
    """

    calls: int = 0
    items: int = 1
    per_depth: int = 1


def per_caller() -> dict[str, Any]:
    """Metadata for a field whose answer depends on who is asking."""
    return {PER_CALLER: True}


def store_cost(calls: int = 0, items: int = 1, per_depth: int = 1) -> dict[str, Any]:
    return {STORE_COST: StoreCost(calls=calls, items=items, per_depth=per_depth)}


def in_hand(reader: Callable[[Any, Any], Any]) -> dict[str, Any]:
    """Metadata for an object field whose value ``reader(source, context)`` gives without
    waiting when the request holds it (else ``NOT_LOADED``); the resolver must answer the
    same value then."""
    return {IN_HAND: reader}


def per_level(values: Callable[..., Awaitable[Sequence[Any]]]) -> dict[str, Any]:
    """Metadata for a list field whose values for a whole level of parents
    ``values(info, parents, **arguments)`` gives in one batched call, in the parents' order;
    the resolver must answer what it answers for ``[self]``."""
    return {PER_LEVEL: values}


def reads(*attributes: str) -> dict[str, Any]:
    """Metadata for a resolver field that reads only these attributes of its record."""
    return {READS: frozenset(attributes)}


def max_items(limit: int) -> dict[str, Any]:
    return {MAX_ITEMS: limit}


def items_note(limit: int) -> str:
    """The sentence a limited list's description ends with."""
    return f"At most {limit} items."


def limited(description: str | None, limit: int) -> str:
    """``description`` with the list's limit stated."""
    note = items_note(limit)
    return f"{description} {note}" if description else note


def list_field(limit: int, description: str | None = None, **options: Any) -> Any:
    """A list input field that takes at most ``limit`` items, and says so."""
    return strawberry.field(
        description=limited(description, limit), metadata=max_items(limit), **options
    )


def list_argument(limit: int, description: str | None = None) -> Any:
    """A list argument that takes at most ``limit`` items, and says so."""
    return strawberry.argument(description=limited(description, limit), metadata=max_items(limit))


def metadata(definition: Any) -> Mapping[str, Any]:
    """The hints of a graphql-core field, argument or input field (empty when none)."""
    extensions = getattr(definition, "extensions", None) or {}
    source = extensions.get(_DEFINITION)
    found = getattr(source, "metadata", None)
    return found if isinstance(found, Mapping) else {}
