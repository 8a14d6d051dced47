"""An index in the order concept lists are read by default: lower-cased name, then id. A page
of concepts is then read in index order and stops at its last row.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_concepts_name_order", "concepts", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_concepts_name_order", table_name="concepts")
