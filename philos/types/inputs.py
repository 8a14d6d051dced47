"""Mutation inputs. Optional fields on update inputs distinguish "absent" (keep the value) from
``null`` (clear it)."""

from __future__ import annotations

import strawberry

from philos.types.enums import Polarity, RelationType, Stance, ThesisStatus
from philos.types.hints import list_field
from philos.validation import MAX_ALIASES, MAX_ARGUMENTS, MAX_RELATED, MAX_SOURCES, MAX_TAGS


@strawberry.input
class CreateConceptInput:
    slug: str = strawberry.field(description="2–80 chars: lowercase letters, digits, hyphens.")
    name: str = strawberry.field(description="1–120 characters.")
    summary: str = strawberry.field(description="1–500 characters.")
    body: str = ""
    tradition: str | None = None
    era_from: int | None = None
    era_to: int | None = None
    tags: list[str] = list_field(MAX_TAGS, default_factory=list)
    aliases: list[str] = list_field(MAX_ALIASES, default_factory=list)
    wikidata_id: str | None = None
    sep_url: str | None = None


@strawberry.input
class UpdateConceptInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you read; a stale one is a Conflict.")
    slug: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    summary: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    tradition: str | None = strawberry.UNSET
    era_from: int | None = strawberry.UNSET
    era_to: int | None = strawberry.UNSET
    tags: list[str] | None = list_field(MAX_TAGS, default=strawberry.UNSET)
    aliases: list[str] | None = list_field(MAX_ALIASES, default=strawberry.UNSET)
    wikidata_id: str | None = strawberry.UNSET
    sep_url: str | None = strawberry.UNSET


@strawberry.input
class RelateConceptsInput:
    source_id: strawberry.ID
    target_id: strawberry.ID
    type: RelationType
    weight: float = 0.5
    note: str | None = None


@strawberry.input
class ArgumentInput:
    polarity: Polarity
    text: str = strawberry.field(description="10–1000 characters.")
    strength: float = 0.5


@strawberry.input
class SourceInput:
    author: str
    work: str
    year: int | None = None
    url: str | None = None


@strawberry.input
class CreateThesisInput:
    concept_id: strawberry.ID
    statement: str = strawberry.field(description="10–1000 characters.")
    stance: Stance
    arguments: list[ArgumentInput] = list_field(MAX_ARGUMENTS, default_factory=list)
    sources: list[SourceInput] = list_field(MAX_SOURCES, default_factory=list)
    related_concept_ids: list[strawberry.ID] = list_field(MAX_RELATED, default_factory=list)
    tags: list[str] = list_field(MAX_TAGS, default_factory=list)
    status: ThesisStatus = ThesisStatus.PUBLISHED


@strawberry.input
class UpdateThesisInput:
    id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="If given, a stale version is a Conflict."
    )
    statement: str | None = strawberry.UNSET
    stance: Stance | None = strawberry.UNSET
    sources: list[SourceInput] | None = list_field(MAX_SOURCES, default=strawberry.UNSET)
    related_concept_ids: list[strawberry.ID] | None = list_field(
        MAX_RELATED, default=strawberry.UNSET
    )
    tags: list[str] | None = list_field(MAX_TAGS, default=strawberry.UNSET)
    status: ThesisStatus | None = strawberry.UNSET


@strawberry.input
class AddArgumentInput:
    thesis_id: strawberry.ID
    polarity: Polarity
    text: str
    strength: float = 0.5
