"""The rules query arguments must keep, in one place.

The resolvers call these before reading anything, and the query compiler (``philos.compile``)
calls the same functions on the same arguments: a rule added here holds on both paths. Each
raises ``UserInputError`` for a value the client must change.
"""

from __future__ import annotations

from philos import domain
from philos.types.paging import (
    CONCEPT_CURSOR,
    MAX_PAGE,
    RELATIONS,
    THESES,
    THESIS_CURSOR,
    UserInputError,
    check_range,
    decode_cursor,
    decode_search_cursor,
)
from philos.validation import is_id


def concept_page(
    flt: domain.ConceptFilter, order: domain.ConceptOrder, first: int, after: str | None
) -> domain.Page:
    """``Query.concepts``: the page asked for (``after`` a cursor of the same order)."""
    check_range("first", first, 1, MAX_PAGE)
    if flt.era_from is not None and flt.era_to is not None and flt.era_to < flt.era_from:
        raise UserInputError("`filter.eraTo` must not be before `filter.eraFrom`.")
    if flt.search:  # by the store's ranking key
        return domain.Page(limit=first, after=decode_search_cursor(after, order.value))
    return domain.Page(limit=first, after=decode_cursor(after, order.value, CONCEPT_CURSOR[order]))


def thesis_page(first: int, after: str | None, searched: bool = False) -> domain.Page:
    """``Query.theses``: the page asked for (by the store's ranking key when searched)."""
    check_range("first", first, 1, MAX_PAGE)
    if searched:
        return domain.Page(limit=first, after=decode_search_cursor(after, THESES))
    return domain.Page(limit=first, after=decode_cursor(after, THESES, THESIS_CURSOR))


def relation_page(first: int, after: str | None) -> domain.Page:
    """``Query.relations``: the page asked for."""
    check_range("first", first, 1, MAX_PAGE)
    return domain.Page(limit=first, after=decode_cursor(after, RELATIONS, ()))


def theses_of_first(first: int) -> int:
    """``Concept.theses``: how many of the concept's theses."""
    return check_range("first", first, 1, MAX_PAGE)


def concept_key(
    id: str | None, slug: str | None, name: str | None = None
) -> tuple[str, str] | None:
    """``Query.concept``: ``("id", id)``, ``("slug", slug)`` or ``("name", name)``, the slug
    and the name lower-cased (both are looked up case-insensitively); None for an id no record
    can have (the answer is null)."""
    if sum(v is not None for v in (id, slug, name)) != 1:
        raise UserInputError("Pass exactly one of `id`, `slug` or `name`.")
    if id is not None:
        return ("id", id) if is_id(id) else None
    if slug is not None:
        return ("slug", slug.lower())
    return ("name", (name or "").strip().lower())


def thesis_key(id: str) -> str | None:
    """``Query.thesis``: the id to look up; None for an id no record can have."""
    return id if is_id(id) else None
