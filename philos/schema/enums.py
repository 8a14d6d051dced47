"""GraphQL enums, exposed from the domain's own enums so the two cannot drift."""

from __future__ import annotations

import strawberry

from philos import domain

RelationType = strawberry.enum(
    domain.RelationType, description="How a source concept stands to a target concept."
)
Direction = strawberry.enum(
    domain.Direction, description="Which relations of a concept to follow."
)
Stance = strawberry.enum(
    domain.Stance, description="Whether a thesis affirms, denies or qualifies its concept."
)
Polarity = strawberry.enum(domain.Polarity, description="Whether an argument is for or against.")
ProvenanceKind = strawberry.enum(domain.ProvenanceKind, description="Who made a record.")
ThesisStatus = strawberry.enum(domain.ThesisStatus, description="Editorial status of a thesis.")
Role = strawberry.enum(domain.Role, description="What a user may do.")
ConceptOrder = strawberry.enum(domain.ConceptOrder, description="Orderings of concept lists.")
