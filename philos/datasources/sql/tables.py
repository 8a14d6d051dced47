"""The SQL schema, declared with SQLModel; queries use the Core tables (``*_t``) directly.

Lists that are only ever read whole (aliases, arguments, sources) are JSON columns, so a thesis
and its arguments come back in one row. Tags are kept as ``|tag|tag|``: tags are validated to
``[a-z0-9-]``, so ``LIKE '%|tag|%'`` is an exact, portable membership test on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Table,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


def _ts() -> Any:
    return Field(sa_column_kwargs={}, sa_type=DateTime(timezone=True))


def refers_to_concept(table: str, column: str) -> ForeignKeyConstraint:
    """A record of ``table`` names a concept in ``column``: it goes when the concept goes.

    Relations and theses held in another store (Neo4j, MongoDB) are kept to the same rule by
    ``datasources/anchored.py`` and the outbox relay.
    """
    return ForeignKeyConstraint(
        [column], ["concepts.id"], name=f"fk_{table}_{column}_concepts", ondelete="CASCADE"
    )


# What a missing era sorts as in the era orders, past every valid year (``validation.MIN_YEAR``
# to now) either way, so that concepts without one come last in both; the 32-bit bounds fit
# the column's type. The era orders' keyset keys (keyset.py) and their indexes use them.
ERA_ABSENT_ASCENDING = 2**31 - 1
ERA_ABSENT_DESCENDING = -(2**31)


class ConceptRow(SQLModel, table=True):
    __tablename__ = "concepts"
    # Concept lists are read by their order's key, the id last (NAME_ASC and NAME_DESC share
    # the first, CREATED_AT_ASC and _DESC the third): see datasources/sql/keyset.py.
    __table_args__ = (
        Index("ix_concepts_name_order", text("lower(name)"), "id"),
        Index(
            "ix_concepts_era_asc_key",
            text(f"coalesce(era_from, {ERA_ABSENT_ASCENDING})"),
            text("lower(name)"),
            "id",
        ),
        Index(
            "ix_concepts_era_desc_key",
            text(f"coalesce(era_from, {ERA_ABSENT_DESCENDING}) DESC"),
            text("lower(name)"),
            "id",
        ),
        Index("ix_concepts_created_order", "created_at", "id"),
        Index("ix_concepts_updated_order", "updated_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    slug: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=120, index=True)
    summary: str = Field(max_length=500)
    body: str = Field(default="")
    tradition: str | None = Field(default=None, max_length=60, index=True)
    era_from: int | None = Field(default=None, index=True)
    era_to: int | None = None
    tags: str = Field(default="")
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    wikidata_id: str | None = Field(default=None, max_length=20)
    sep_url: str | None = Field(default=None, max_length=300)
    author_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    version: int = 1


class RelationRow(SQLModel, table=True):
    __tablename__ = "relations"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "type", name="uq_relation_triple"),
        Index("ix_relations_target", "target_id", "type"),
        refers_to_concept("relations", "source_id"),
        refers_to_concept("relations", "target_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    source_id: str = Field(max_length=36, index=True)
    target_id: str = Field(max_length=36)
    type: str = Field(max_length=20)
    weight: float = 0.5
    note: str | None = Field(default=None, max_length=300)
    provenance: str = Field(default="HUMAN", max_length=10)
    model: str | None = Field(default=None, max_length=100)
    author_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _ts()


class ThesisRow(SQLModel, table=True):
    __tablename__ = "theses"
    __table_args__ = (
        Index("ix_theses_concept_created", "concept_id", "created_at"),
        Index("ix_theses_newest_first", "created_at", "id"),  # read backwards
        refers_to_concept("theses", "concept_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    concept_id: str = Field(max_length=36)
    statement: str = Field(max_length=1000)
    stance: str = Field(max_length=10)
    arguments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    sources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    related_concept_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    synthesis_of: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: str = Field(default="")
    provenance: str = Field(default="HUMAN", max_length=10)
    model: str | None = Field(default=None, max_length=100)
    prompt_version: str | None = Field(default=None, max_length=40)
    status: str = Field(default="PUBLISHED", max_length=10)
    author_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    version: int = 1


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=36)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=200)
    role: str = Field(default="READER", max_length=10)
    created_at: datetime = _ts()


class RefreshTokenRow(SQLModel, table=True):
    """Opaque refresh tokens, stored only as SHA-256 hashes. Tokens issued by rotation share a
    family; presenting a used token again revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(max_length=36, index=True)
    family_id: str = Field(max_length=36, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class OutboxRow(SQLModel, table=True):
    """Changes to concepts that other stores must hear about, written in the same transaction
    as the change itself and deleted once applied (see ``datasources/outbox.py``)."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=40)
    target: str = Field(max_length=20, index=True)  # the store it is for: graph | theses
    concept_id: str = Field(max_length=36)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    last_error: str | None = Field(default=None, max_length=500)


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


metadata = SQLModel.metadata
concepts_t = table_of(ConceptRow)
relations_t = table_of(RelationRow)
theses_t = table_of(ThesisRow)
users_t = table_of(UserRow)
outbox_t = table_of(OutboxRow)
refresh_tokens_t = table_of(RefreshTokenRow)


class RelationSuggestionRow(SQLModel, table=True):
    """Relations a model proposed for a concept, with its rationale; accepted ones point at the
    relation they became (see ``philos/ai``)."""

    __tablename__ = "relation_suggestions"
    __table_args__ = (
        Index("ix_relation_suggestions_concept", "concept_id", "created_at"),
        refers_to_concept("relation_suggestions", "concept_id"),
        refers_to_concept("relation_suggestions", "source_id"),
        refers_to_concept("relation_suggestions", "target_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    concept_id: str = Field(max_length=36)
    source_id: str = Field(max_length=36)
    target_id: str = Field(max_length=36)
    type: str = Field(max_length=20)
    weight: float = 0.5
    rationale: str = Field(max_length=300)
    model: str = Field(max_length=100)
    prompt_version: str = Field(max_length=40)
    status: str = Field(default="PENDING", max_length=10)
    relation_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _ts()


class AiCallRow(SQLModel, table=True):
    """The ledger of successful model calls: model, prompt version, tokens, who asked, and the
    ids of the records the answer produced.

    ``subject_id`` is a concept or a thesis, and deliberately no foreign key: the ledger is
    an account of what was spent and produced, and outlives what it was about."""

    __tablename__ = "ai_calls"
    __table_args__ = (Index("ix_ai_calls_created", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    mutation: str = Field(max_length=40)
    model: str = Field(max_length=100)
    prompt_version: str = Field(max_length=40)
    input_tokens: int = 0
    output_tokens: int = 0
    caller: str = Field(max_length=200)
    subject_id: str = Field(max_length=36, index=True)
    produced_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


relation_suggestions_t = table_of(RelationSuggestionRow)
ai_calls_t = table_of(AiCallRow)


class AiJobRow(SQLModel, table=True):
    """An AI mutation run in the background: who asked, with what, and how it went. The
    result holds the ids of the records it produced (and the call's model and tokens), the
    failure a typed code and message; the answer is the model's, kept before anything is
    written, so a job run again (its worker died) writes the same records under the same ids."""

    __tablename__ = "ai_jobs"
    __table_args__ = (Index("ix_ai_jobs_creator", "creator_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)
    mutation: str = Field(max_length=40)
    creator_id: str = Field(max_length=36)
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="QUEUED", max_length=10)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    failure: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = 0
    version: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


ai_jobs_t = table_of(AiJobRow)
