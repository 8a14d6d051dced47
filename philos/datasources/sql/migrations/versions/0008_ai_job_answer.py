"""An AI job keeps the model's answer (and how the call went) before it writes anything, so
a job run again after its worker died writes what the first run would have, under the same
ids, without a second model call.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ai_jobs") as batch:
        batch.add_column(sa.Column("answer", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ai_jobs") as batch:
        batch.drop_column("answer")
