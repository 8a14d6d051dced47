"""Who may write what. Reads are public. Writing needs an EDITOR; changing or deleting a record
another user created needs an ADMIN. Records without an author (the sample corpus) belong to
the community and any EDITOR may curate them."""

from __future__ import annotations

from philos.domain import ForbiddenError, Principal, Role

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
