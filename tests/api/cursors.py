"""Cursors made up for the compiled-path comparisons (``test_compiled.py``): keys in the middle
of each order that no row need have, NULL eras too, and a name with spaces and quotes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from philos.domain import ConceptOrder
from philos.types.paging import concept_cursor, thesis_cursor

_MIDDLE = datetime(2026, 1, 1, 12, 30, 0, 123456, tzinfo=UTC)
_ID = str(uuid.UUID(int=2**127))


def name_cursor(name: str) -> str:
    """A NAME_ASC cursor just after ``name``."""
    return concept_cursor(
        ConceptOrder.NAME_ASC, SimpleNamespace(id=str(uuid.UUID(int=0)), name=name)
    )


def _row(era: int | None) -> SimpleNamespace:
    return SimpleNamespace(
        id=_ID, name='Kant\'s "x" y', era_from=era, created_at=_MIDDLE, updated_at=_MIDDLE
    )


KEYSET_CURSORS: list[tuple[ConceptOrder, str]] = [
    (order, concept_cursor(order, _row(era)))
    for order in ConceptOrder
    for era in ((None, 1700) if order.value.startswith("ERA") else (None,))
]

KEYSET_QUERIES: list[tuple[str, dict[str, Any]]] = [
    *(
        (
            "query($after: String) { concepts(first: 6, orderBy: "
            + order.value
            + ", after: $after) { totalCount edges { cursor node { slug } } "
            "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
            {"after": cursor},
        )
        for order, cursor in KEYSET_CURSORS
    ),
    (
        "query($after: String) { theses(first: 4, after: $after) { totalCount "
        "edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }",
        {"after": thesis_cursor(SimpleNamespace(id=_ID, created_at=_MIDDLE))},
    ),
]
