"""Foreign keys from every record that names a concept to the concept, ``ON DELETE CASCADE``:
relations (source and target), theses, and AI relation suggestions (concept, source, target).
The database itself now refuses a record whose concept is gone, and deleting a concept takes
its records with it, whatever races it.

Records that already point at a missing concept (left by races before this revision) would
violate the new keys, so they are deleted first: nothing could reach them through a concept.
On SQLite the tables are rebuilt (batch mode), which is how SQLite adds a constraint.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

# table -> the columns that name a concept
REFERENCES = {
    "relations": ("source_id", "target_id"),
    "theses": ("concept_id",),
    "relation_suggestions": ("concept_id", "source_id", "target_id"),
}


def _name(table: str, column: str) -> str:
    return f"fk_{table}_{column}_concepts"


def upgrade() -> None:
    concepts = sa.table("concepts", sa.column("id"))
    for table, columns in REFERENCES.items():
        rows = sa.table(table, *(sa.column(name) for name in columns))
        gone = [rows.c[name].not_in(sa.select(concepts.c.id)) for name in columns]
        op.execute(sa.delete(rows).where(sa.or_(*gone)))
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.create_foreign_key(
                    _name(table, column), "concepts", [column], ["id"], ondelete="CASCADE"
                )


def downgrade() -> None:
    for table, columns in REFERENCES.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(_name(table, column), type_="foreignkey")
