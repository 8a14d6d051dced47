"""ConceptStore and UserStore contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from philos.datasources.ports import ConceptStore, UserStore
from philos.domain import (
    Concept,
    ConceptFilter,
    ConceptOrder,
    ConflictError,
    NotFoundError,
    Page,
    Role,
    User,
)


def concept(n: int, name: str, **kw: object) -> Concept:
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n)
    return Concept(
        id=f"00000000-0000-4000-8000-{n:012d}",
        slug=f"concept-{n}",
        name=name,
        summary=f"Summary of {name}.",
        created_at=at,
        updated_at=at,
        **kw,  # type: ignore[arg-type]
    )


async def test_concepts(concept_store: ConceptStore) -> None:
    a = concept(1, "Arete", tags=("ethics",), era_from=-400, aliases=("Excellence",))
    b = concept(2, "being", tradition="Phenomenology", era_from=1927, era_to=1976)
    for c in (a, b):
        await concept_store.create(c)
    assert await concept_store.get_many([a.id, "missing"]) == {a.id: a}
    assert await concept_store.get_many_by_slug(["concept-2"]) == {"concept-2": b}
    with pytest.raises(ConflictError):
        await concept_store.create(
            dataclasses.replace(a, id="00000000-0000-4000-8000-000000000099")
        )
    page = await concept_store.list(ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=1))
    assert [c.name for c in page.items] == ["Arete"] and page.total == 2
    by_alias = await concept_store.list(
        ConceptFilter(search="excel"), ConceptOrder.NAME_ASC, Page()
    )
    assert [c.id for c in by_alias.items] == [a.id]
    newest = await concept_store.list(ConceptFilter(), ConceptOrder.CREATED_AT_DESC, Page())
    assert [c.id for c in newest.items] == [b.id, a.id]
    updated = await concept_store.update(dataclasses.replace(a, name="Aretê"), 1)
    assert updated.name == "Aretê" and updated.version == 2
    with pytest.raises(ConflictError) as stale:
        await concept_store.update(dataclasses.replace(a, name="Again"), 1)
    assert stale.value.current_version == 2
    with pytest.raises(NotFoundError):
        await concept_store.update(concept(9, "Ghost"), 1)
    assert await concept_store.delete(a.id) is True
    assert await concept_store.delete(a.id) is False


async def test_users(user_store: UserStore) -> None:
    user = User(
        id="00000000-0000-4000-8000-000000000001",
        email="Ada@Example.org",
        display_name="Ada",
        password_hash="$argon2id$x",
        role=Role.EDITOR,
    )
    await user_store.create(user)
    found = await user_store.get_by_email("ada@example.ORG")
    assert found is not None and found.id == user.id and found.role is Role.EDITOR
    assert found.email == "ada@example.org"
    assert await user_store.get_by_email("nobody@example.org") is None
    assert set(await user_store.get_many([user.id, "x"])) == {user.id}
    with pytest.raises(ConflictError):
        await user_store.create(
            dataclasses.replace(
                user, id="00000000-0000-4000-8000-000000000002", email="ADA@example.org"
            )
        )


async def test_users_are_listed_and_searched_by_email(user_store: UserStore) -> None:
    people = [("Zeno@Example.org", "Zeno"), ("ada@example.org", "Ada 100%"), ("bo@x.org", "Bo_b")]
    for i, (email, name) in enumerate(people, start=11):
        await user_store.create(
            User(
                id=f"00000000-0000-4000-8000-0000000000{i}",
                email=email,
                display_name=name,
                password_hash="$argon2id$x",
                role=Role.READER,
            )
        )
    listed = [u.email for u in await user_store.search(None, 10)]
    assert listed == sorted(listed) and set(listed) >= {"zeno@example.org", "bo@x.org"}
    assert len(await user_store.search(None, 2)) == 2
    assert [u.email for u in await user_store.search("EXAMPLE", 10)] == [
        "ada@example.org",
        "zeno@example.org",
    ]
    assert [u.display_name for u in await user_store.search("zen", 10)] == ["Zeno"]
    # LIKE's wildcards are plain text here.
    assert [u.display_name for u in await user_store.search("100%", 10)] == ["Ada 100%"]
    assert [u.display_name for u in await user_store.search("o_b", 10)] == ["Bo_b"]
    assert await user_store.search("%", 10) == await user_store.search("100%", 10)
    assert await user_store.search("nobody-here", 10) == []
