"""Domain events: what changed, told to every process that listens.

An event names one record (a concept, relation, thesis or user) and what happened to it
(``created``, ``updated``, ``deleted``); its ``kind`` is the routing key, ``concept.updated``.
``id`` is the outbox entry's id, the same on every delivery of the event, so a consumer that
sees an id twice drops the second copy; ``version`` is the record's version after the change,
so a consumer can also drop an older change that arrives after a newer one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ENTITIES = ("concept", "relation", "thesis", "user", "job")
ACTIONS = ("created", "updated", "deleted")


@dataclass(frozen=True)
class DomainEvent:
    id: str
    kind: str  # "<entity>.<action>": the routing key
    record_id: str
    version: int | None = None
    # The concepts the record belongs to (a relation's two ends; a thesis's concept).
    concept_ids: tuple[str, ...] = ()
    occurred_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def entity(self) -> str:
        return self.kind.partition(".")[0]

    @property
    def action(self) -> str:
        return self.kind.partition(".")[2]

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "kind": self.kind,
                "recordId": self.record_id,
                "version": self.version,
                "conceptIds": list(self.concept_ids),
                "occurredAt": self.occurred_at,
                **({"extra": self.extra} if self.extra else {}),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, body: bytes | str, message_id: str | None = None) -> DomainEvent:
        """Raises ``ValueError`` for a body that is not an event (a poison message)."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("an event is a JSON object")
        kind = data.get("kind")
        record_id = data.get("recordId")
        version = data.get("version")
        if not isinstance(kind, str) or kind.partition(".")[0] not in ENTITIES:
            raise ValueError(f"unknown event kind {kind!r}")
        if not isinstance(record_id, str):
            raise ValueError("an event names its record")
        if version is not None and not isinstance(version, int):
            raise ValueError("an event's version is an integer")
        concepts = data.get("conceptIds") or []
        if not isinstance(concepts, list) or not all(isinstance(c, str) for c in concepts):
            raise ValueError("conceptIds is a list of ids")
        extra = data.get("extra") or {}
        return cls(
            id=str(message_id or data.get("id") or ""),
            kind=kind,
            record_id=record_id,
            version=version,
            concept_ids=tuple(concepts),
            occurred_at=str(data.get("occurredAt") or ""),
            extra=extra if isinstance(extra, dict) else {},
        )
