"""PostgreSQL is told what the search functions of 0004 cost, so that a search reads its
matches through the search indexes instead of computing every row's text.

A function's ``COST`` is the planner's estimate of one call, in units of
``cpu_operator_cost``; an SQL function keeps the default, 100. Measured on the sample corpus,
unaccenting a text and building a thesis's or a concept's weighted ``tsvector`` cost tens to
hundreds of microseconds a row, far more than that says. With the default the planner judged a
sequential scan that computes each row's ``tsvector`` (twice, for the full-text and the
prefix match) cheaper than the GIN indexes, and a search took a quarter of a second on two
hundred concepts, growing with the table. With these costs it reads the indexes.

``philos_concept_tsv`` and ``philos_search_key`` are inlined into the statement, so what they
cost is what ``philos_unaccent`` in them costs; ``philos_thesis_tsv`` and
``philos_concept_keys`` read a JSON array in a subquery and are not inlined, so they carry
their own cost. The numbers are coarse on purpose: their order of magnitude is what the plan
turns on. SQLite has no such functions (its search reads FTS5 tables); nothing changes there.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None

# (function, its cost): about 50 per microsecond a call took on the sample corpus.
COSTS = [
    ("philos_unaccent(text)", 1000),
    ("philos_search_key(text)", 1000),
    ("philos_concept_keys(text, text)", 2000),
    ("philos_thesis_tsv(text, text)", 5000),
]
_DEFAULT = 100


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function, cost in COSTS:
        op.execute(f"ALTER FUNCTION {function} COST {cost}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for function, _ in COSTS:
        op.execute(f"ALTER FUNCTION {function} COST {_DEFAULT}")
