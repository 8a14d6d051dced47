"""The era orders sort on ``coalesce(era_from, <past every year>)`` instead of
``(era_from IS NULL), era_from``: a concept without an era still comes last, but the key has
no NULL, so "after the cursor" is one range over the key and a deep page starts at the cursor in
the index (``datasources/sql/keyset.py``). The old era indexes are replaced by ones on the new
key; the other orders' indexes stay (0002, 0005).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

# The values a missing era sorts as (``tables.ERA_ABSENT_*`` when this revision was written).
_LAST_ASCENDING = 2**31 - 1
_LAST_DESCENDING = -(2**31)

NEW: list[tuple[str, list[object]]] = [
    (
        "ix_concepts_era_asc_key",
        [sa.text(f"coalesce(era_from, {_LAST_ASCENDING})"), sa.text("lower(name)"), "id"],
    ),
    (
        "ix_concepts_era_desc_key",
        [sa.text(f"coalesce(era_from, {_LAST_DESCENDING}) DESC"), sa.text("lower(name)"), "id"],
    ),
]
OLD: list[tuple[str, list[object]]] = [
    (
        "ix_concepts_era_asc_order",
        [sa.text("(era_from IS NULL)"), "era_from", sa.text("lower(name)"), "id"],
    ),
    (
        "ix_concepts_era_desc_order",
        [sa.text("(era_from IS NULL)"), sa.text("era_from DESC"), sa.text("lower(name)"), "id"],
    ),
]


def upgrade() -> None:
    for name, _ in OLD:
        op.drop_index(name, table_name="concepts")
    for name, columns in NEW:
        op.create_index(name, "concepts", columns)


def downgrade() -> None:
    for name, _ in NEW:
        op.drop_index(name, table_name="concepts")
    for name, columns in OLD:
        op.create_index(name, "concepts", columns)
