"""GraphQL enums: the domain's own enums, registered with Strawberry, so the two cannot drift."""

from __future__ import annotations

import strawberry

from philos.domain import (
    ConceptOrder,
    Direction,
    Polarity,
    ProvenanceKind,
    RelationType,
    Role,
    Stance,
    ThesisStatus,
)

_DESCRIPTIONS = {
    RelationType: "How a source concept stands to a target concept: source TYPE target.",
    Direction: "Which relations of a concept to follow.",
    Stance: "Whether a thesis affirms, denies or qualifies its concept.",
    Polarity: "Whether an argument is for or against a thesis.",
    ProvenanceKind: "Who made a record.",
    ThesisStatus: "Editorial status of a thesis.",
    Role: "What a user may do.",
    ConceptOrder: "Orderings of concept lists.",
}
for _enum, _description in _DESCRIPTIONS.items():
    strawberry.enum(_enum, description=_description)

__all__ = [
    "ConceptOrder",
    "Direction",
    "Polarity",
    "ProvenanceKind",
    "RelationType",
    "Role",
    "Stance",
    "ThesisStatus",
]
