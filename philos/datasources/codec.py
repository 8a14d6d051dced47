"""Domain records to bytes and back, for caches. JSON (orjson), so a Redis value can be read
by a person with ``redis-cli GET``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from philos.domain import (
    Argument,
    Concept,
    Polarity,
    Provenance,
    ProvenanceKind,
    Source,
    Stance,
    Thesis,
    ThesisStatus,
)


def dump(record: Concept | Thesis) -> bytes:
    return orjson.dumps(record)


def load_concept(raw: bytes) -> Concept:
    d: dict[str, Any] = orjson.loads(raw)
    d["tags"] = tuple(d["tags"])
    d["aliases"] = tuple(d["aliases"])
    d["created_at"] = datetime.fromisoformat(d["created_at"])
    d["updated_at"] = datetime.fromisoformat(d["updated_at"])
    return Concept(**d)


def load_thesis(raw: bytes) -> Thesis:
    d: dict[str, Any] = orjson.loads(raw)
    d["stance"] = Stance(d["stance"])
    d["status"] = ThesisStatus(d["status"])
    d["arguments"] = tuple(
        Argument(a["id"], Polarity(a["polarity"]), a["text"], a["strength"]) for a in d["arguments"]
    )
    d["sources"] = tuple(Source(**s) for s in d["sources"])
    d["related_concept_ids"] = tuple(d["related_concept_ids"])
    d["synthesis_of"] = tuple(d.get("synthesis_of", ()))
    d["tags"] = tuple(d["tags"])
    p = d["provenance"]
    d["provenance"] = Provenance(ProvenanceKind(p["kind"]), p["model"], p["prompt_version"])
    d["created_at"] = datetime.fromisoformat(d["created_at"])
    d["updated_at"] = datetime.fromisoformat(d["updated_at"])
    return Thesis(**d)
