"""How the MongoDB thesis store (``philos.datasources.mongo``) lays a thesis out as a document.

One document per thesis; ``_id`` is the thesis id, and arguments, sources and provenance are
embedded. Each timestamp is stored twice: as a BSON date (milliseconds; readable, indexed) and
as integer microseconds since the epoch (``<field>_us``), which is what is read back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import Document
from pydantic import BaseModel

from philos.domain import (
    THESIS_FIELDS,
    THESIS_UNREAD,
    Argument,
    Polarity,
    Provenance,
    ProvenanceKind,
    Source,
    Stance,
    Thesis,
    ThesisStatus,
)

__all__ = [
    "ArgumentDoc",
    "ProvenanceDoc",
    "SourceDoc",
    "StoredThesis",
    "argument_value",
    "document_class",
    "thesis_projection",
    "thesis_values",
    "timestamp",
    "to_thesis",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class ArgumentDoc(BaseModel):
    id: str
    polarity: Polarity
    text: str
    strength: float


class SourceDoc(BaseModel):
    author: str
    work: str
    year: int | None = None
    url: str | None = None


class ProvenanceDoc(BaseModel):
    kind: ProvenanceKind
    model: str | None = None
    prompt_version: str | None = None


class StoredThesis(BaseModel):
    """A thesis as stored; ``id`` is the document's ``_id``."""

    id: str
    concept_id: str
    statement: str
    stance: Stance
    arguments: list[ArgumentDoc]
    sources: list[SourceDoc]
    related_concept_ids: list[str]
    synthesis_of: list[str]
    tags: list[str]
    provenance: ProvenanceDoc
    status: ThesisStatus
    author_id: str | None
    created_at: datetime
    created_at_us: int
    updated_at: datetime
    updated_at_us: int
    version: int


def document_class() -> type[Document]:
    """A Beanie document class of its own for one store.

    Beanie keeps the database a document class talks to on the class, and rewrites the class
    when it binds it. A fresh class per store keeps two stores in one process (other
    databases, other clients) from redirecting each other's queries; the fields come from a
    plain model, because subclassing a bound document inherits Beanie's rewritten attributes.
    """

    class ThesisDocument(StoredThesis, Document):  # StoredThesis first: its ``id`` is a str
        class Settings:
            name = "theses"

    return ThesisDocument


def _micros(at: datetime) -> int:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _ONE_US


def _from_micros(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def timestamp(field: str, at: datetime) -> dict[str, Any]:
    return {field: at, f"{field}_us": _micros(at)}


def thesis_values(th: Thesis) -> dict[str, Any]:
    """Every stored field but ``_id``, BSON-ready."""
    return {
        "concept_id": th.concept_id,
        "statement": th.statement,
        "stance": th.stance.value,
        "arguments": [argument_value(a) for a in th.arguments],
        "sources": [
            {"author": s.author, "work": s.work, "year": s.year, "url": s.url} for s in th.sources
        ],
        "related_concept_ids": list(th.related_concept_ids),
        "synthesis_of": list(th.synthesis_of),
        "tags": list(th.tags),
        "provenance": {
            "kind": th.provenance.kind.value,
            "model": th.provenance.model,
            "prompt_version": th.provenance.prompt_version,
        },
        "status": th.status.value,
        "author_id": th.author_id,
        **timestamp("created_at", th.created_at),
        **timestamp("updated_at", th.updated_at),
        "version": th.version,
    }


def argument_value(a: Argument) -> dict[str, Any]:
    return {"id": a.id, "polarity": a.polarity.value, "text": a.text, "strength": a.strength}


def _argument(a: Mapping[str, Any]) -> Argument:
    return Argument(
        id=a["id"], polarity=Polarity(a["polarity"]), text=a["text"], strength=a["strength"]
    )


def _source(s: Mapping[str, Any]) -> Source:
    return Source(author=s["author"], work=s["work"], year=s.get("year"), url=s.get("url"))


def _provenance(p: Mapping[str, Any]) -> Provenance:
    return Provenance(
        kind=ProvenanceKind(p["kind"]), model=p.get("model"), prompt_version=p.get("prompt_version")
    )


# Each attribute of a thesis: the document's key for it, and how it is read.
_THESIS_READ: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "id": ("_id", lambda v: v),
    "concept_id": ("concept_id", lambda v: v),
    "statement": ("statement", lambda v: v),
    "stance": ("stance", Stance),
    "arguments": ("arguments", lambda v: tuple(_argument(a) for a in v)),
    "sources": ("sources", lambda v: tuple(_source(s) for s in v)),
    "related_concept_ids": ("related_concept_ids", tuple),
    "synthesis_of": ("synthesis_of", tuple),
    "tags": ("tags", tuple),
    "provenance": ("provenance", _provenance),
    "status": ("status", ThesisStatus),
    "author_id": ("author_id", lambda v: v),
    "created_at": ("created_at_us", _from_micros),
    "updated_at": ("updated_at_us", _from_micros),
    "version": ("version", lambda v: v),
}
if set(_THESIS_READ) != THESIS_FIELDS:
    raise RuntimeError("every attribute of a thesis needs its reader here")


@functools.cache
def thesis_projection(
    fields: frozenset[str],
) -> tuple[dict[str, int], Callable[[Mapping[str, Any]], Thesis]]:
    """The find projection that reads ``fields``, and the thesis of a document read with it
    (its other attributes at their defaults)."""
    readers = [(name, *_THESIS_READ[name]) for name in sorted(fields)]
    projection = {key: 1 for _, key, _ in readers}
    unread = {name: value for name, value in THESIS_UNREAD.items() if name not in fields}

    def read(doc: Mapping[str, Any]) -> Thesis:
        found = {name: reader(doc[key]) for name, key, reader in readers if key in doc}
        return Thesis(**unread, **found)

    return projection, read


def to_thesis(doc: Mapping[str, Any]) -> Thesis:
    """A thesis from its stored document, as the driver returns it (``_id`` is the id)."""
    return Thesis(
        id=doc["_id"],
        concept_id=doc["concept_id"],
        statement=doc["statement"],
        stance=Stance(doc["stance"]),
        arguments=tuple(_argument(a) for a in doc["arguments"]),
        sources=tuple(_source(s) for s in doc["sources"]),
        related_concept_ids=tuple(doc["related_concept_ids"]),
        synthesis_of=tuple(doc["synthesis_of"]),
        tags=tuple(doc["tags"]),
        provenance=_provenance(doc["provenance"]),
        status=ThesisStatus(doc["status"]),
        author_id=doc.get("author_id"),
        created_at=_from_micros(doc["created_at_us"]),
        updated_at=_from_micros(doc["updated_at_us"]),
        version=doc["version"],
    )
