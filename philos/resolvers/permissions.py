"""Who may write what. Reads are public. Writing needs an EDITOR; changing or deleting a record
another user created needs an ADMIN. Records without an author (the sample corpus) belong to
the community and any EDITOR may curate them. Deleting a concept deletes its theses and
relations too, so it needs an ADMIN as soon as one of those was written by someone else."""

from __future__ import annotations

from collections.abc import Sequence

from philos.datasources.ports import DeleteCheck
from philos.domain import Concept, Dependant, ForbiddenError, Principal, Role

_RANK = {Role.READER: 0, Role.EDITOR: 1, Role.ADMIN: 2}


def require_role(principal: Principal, role: Role, action: str) -> None:
    if not principal.signed_in:
        raise ForbiddenError(f"Sign in to {action}: it needs the {role.value} role.")
    if _RANK[principal.role] < _RANK[role]:
        raise ForbiddenError(
            f"To {action} you need the {role.value} role; you have {principal.role.value}. "
            "An administrator can change your role with setUserRole."
        )


def require_editor(principal: Principal, action: str) -> None:
    require_role(principal, Role.EDITOR, action)


def require_owner_or_admin(principal: Principal, author_id: str | None, action: str) -> None:
    require_editor(principal, action)
    if author_id is not None and author_id != principal.user_id and principal.role != Role.ADMIN:
        raise ForbiddenError(f"Only its author or an ADMIN may {action}.")


def _count(n: int, kind: str) -> str:
    return f"{n} {kind}" if n == 1 else f"{n} {'theses' if kind == 'thesis' else kind + 's'}"


def concept_delete_check(principal: Principal, action: str) -> DeleteCheck | None:
    """The check a concept delete runs on the concept and what would go with it, inside its
    transaction; None for an ADMIN, who may remove anything."""
    require_editor(principal, action)
    if principal.role == Role.ADMIN:
        return None

    async def check(concept: Concept, dependants: Sequence[Dependant]) -> None:
        require_owner_or_admin(principal, concept.author_id, action)
        foreign = [
            d for d in dependants if d.author_id is not None and d.author_id != principal.user_id
        ]
        if foreign:
            counts = [
                _count(n, kind)
                for kind in ("thesis", "relation")
                if (n := sum(d.kind == kind for d in foreign))
            ]
            raise ForbiddenError(
                f"Deleting this concept would also remove {' and '.join(counts)} by other "
                "users; only an ADMIN may do that. Nothing was deleted."
            )

    return check
