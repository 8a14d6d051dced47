"""An index per list order on its whole sort key, the id last, so that a page read with
``WHERE key > cursor ORDER BY key LIMIT n`` (``datasources/sql/keyset.py``) starts at the
cursor in the index and stops after its last row, however far down the list it is. NAME_ASC and
NAME_DESC share ``ix_concepts_name_order`` (0002), CREATED_AT_ASC and _DESC one index read
either way.

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

# name, table, columns (the same as in tables.py)
INDEXES: list[tuple[str, str, list[object]]] = [
    (
        "ix_concepts_era_asc_order",
        "concepts",
        [sa.text("(era_from IS NULL)"), "era_from", sa.text("lower(name)"), "id"],
    ),
    (
        "ix_concepts_era_desc_order",
        "concepts",
        [sa.text("(era_from IS NULL)"), sa.text("era_from DESC"), sa.text("lower(name)"), "id"],
    ),
    ("ix_concepts_created_order", "concepts", ["created_at", "id"]),
    ("ix_concepts_updated_order", "concepts", ["updated_at", "id"]),
    ("ix_theses_newest_first", "theses", ["created_at", "id"]),  # read backwards: newest first
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
