"""AI mutations run in the background: one ``ai_jobs`` row per job (status, arguments, the
result's record ids or a typed failure).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("mutation", sa.String(40), nullable=False),
        sa.Column("creator_id", sa.String(36), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("failure", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ai_jobs_creator", "ai_jobs", ["creator_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ai_jobs_creator", table_name="ai_jobs")
    op.drop_table("ai_jobs")
