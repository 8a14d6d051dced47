"""Who may write what (``philos.resolvers.permissions``), over every role and author."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from philos.domain import Concept, Dependant, ForbiddenError, Principal, Role
from philos.resolvers.permissions import (
    concept_delete_check,
    require_editor,
    require_owner_or_admin,
    require_role,
)

RANK = [Role.READER, Role.EDITOR, Role.ADMIN]
users = st.sampled_from(["u1", "u2", "u3"])
principals = st.builds(Principal, st.none() | users, st.sampled_from(Role))
authors = st.none() | users


def allowed(check: object) -> bool:
    try:
        if callable(check):
            check()
    except ForbiddenError:
        return False
    return True


@given(principals, st.sampled_from(Role))
def test_a_role_check_passes_signed_in_users_of_that_rank_or_higher(
    principal: Principal, role: Role
) -> None:
    expected = principal.signed_in and RANK.index(principal.role) >= RANK.index(role)
    assert allowed(lambda: require_role(principal, role, "act")) == expected


@given(principals)
def test_a_signed_out_caller_is_told_to_sign_in(principal: Principal) -> None:
    if principal.signed_in:
        return
    with pytest.raises(ForbiddenError) as info:
        require_editor(principal, "create concepts")
    assert info.value.message == "Sign in to create concepts: it needs the EDITOR role."


@given(principals, authors)
def test_owners_and_admins_may_change_a_record(principal: Principal, author: str | None) -> None:
    editor = principal.signed_in and principal.role is not Role.READER
    expected = editor and (
        author is None or author == principal.user_id or principal.role is Role.ADMIN
    )
    assert allowed(lambda: require_owner_or_admin(principal, author, "edit it")) == expected


dependants = st.lists(
    st.builds(Dependant, st.sampled_from(["thesis", "relation"]), st.just("d"), authors),
    max_size=5,
)


@given(principals, authors, dependants)
def test_deleting_a_concept_needs_an_admin_once_others_wrote_part_of_it(
    principal: Principal, author: str | None, deps: list[Dependant]
) -> None:
    editor = principal.signed_in and principal.role is not Role.READER
    admin = principal.signed_in and principal.role is Role.ADMIN
    theirs = [d for d in deps if d.author_id not in (None, principal.user_id)]
    expected = admin or (editor and author in (None, principal.user_id) and not theirs)

    async def run() -> None:
        check = concept_delete_check(principal, "delete it")
        if check is not None:
            await check(Concept(id="c", slug="c", name="c", summary="", author_id=author), deps)

    try:
        asyncio.run(run())
    except ForbiddenError as exc:
        assert not expected
        if theirs and editor and author in (None, principal.user_id):
            assert "only an ADMIN may do that. Nothing was deleted." in exc.message
            n = sum(d.kind == "thesis" for d in theirs)
            if n:
                assert f"{n} {'thesis' if n == 1 else 'theses'}" in exc.message
    else:
        assert expected
