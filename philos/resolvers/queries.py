"""Query resolvers."""

from __future__ import annotations

from typing import Any, TypeVar

from philos import domain
from philos.types.arguments import (
    concept_key,
    concept_page,
    relation_page,
    thesis_key,
    thesis_page,
)
from philos.types.context import Context
from philos.types.objects import (
    Concept,
    ConceptConnection,
    ConceptEdge,
    ConceptPath,
    Graph,
    PageInfo,
    Relation,
    RelationConnection,
    RelationEdge,
    Thesis,
    ThesisConnection,
    ThesisEdge,
)
from philos.types.paging import (
    THESES,
    UserInputError,
    check_range,
    concept_cursor,
    relation_cursor,
    search_cursor,
    thesis_cursor,
)
from philos.validation import is_id

T = TypeVar("T")


async def concept(
    ctx: Context, id: str | None, slug: str | None, name: str | None = None
) -> Concept | None:
    key = concept_key(id, slug, name)
    if key is None:
        found = None
    elif key[0] == "id":
        found = await ctx.loaders.concept.load(key[1])
    elif key[0] == "slug":
        found = await ctx.loaders.concept_by_slug.load(key[1])
    else:
        found = await ctx.loaders.concept_by_name.load(key[1])
    return Concept.from_domain(found) if found else None


def keys_of(result: domain.PageResult[T]) -> list[tuple[T, tuple[Any, ...]]]:
    """A searched page's rows, each with its ranking key (a store that ranks gives them)."""
    if result.keys is None or len(result.keys) != len(result.items):
        raise TypeError("a searched list's page must carry each row's ranking key")
    return list(zip(result.items, result.keys, strict=True))


def _page_info(result: domain.PageResult[Any], cursors: list[str]) -> PageInfo:
    """``hasPreviousPage``: some row matching the filter sorts before the page."""
    return PageInfo(
        has_next_page=result.has_next,
        has_previous_page=result.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


async def concepts(
    ctx: Context,
    flt: domain.ConceptFilter,
    order: domain.ConceptOrder | None,
    first: int,
    after: str | None,
    at: tuple[str | int, ...] = (),
) -> ConceptConnection:
    """``at`` is the list's response path: its nodes say why they matched a search."""
    if order is None:
        order = domain.ConceptOrder.RELEVANCE if flt.search else domain.ConceptOrder.NAME_ASC
    page = concept_page(flt, order, first, after)
    if flt.search:
        ctx.searches[at] = flt.search
    result = await ctx.stores.concepts.list(flt, order, page)
    for item in result.items:  # later fields of the same request reuse these
        ctx.loaders.concept.prime(item.id, item)
    cursors = (
        [search_cursor(order.value, c, k) for c, k in keys_of(result)]
        if flt.search
        else [concept_cursor(order, c) for c in result.items]
    )
    return ConceptConnection(
        filter=flt,
        edges=[
            ConceptEdge(cursor=cursor, node=Concept.from_domain(c))
            for cursor, c in zip(cursors, result.items, strict=True)
        ],
        page_info=_page_info(result, cursors),
        total_count=result.total,
    )


async def thesis(ctx: Context, id: str) -> Thesis | None:
    key = thesis_key(id)
    found = await ctx.loaders.thesis.load(key) if key is not None else None
    return Thesis.from_domain(found) if found else None


async def theses(
    ctx: Context, flt: domain.ThesisFilter, first: int, after: str | None
) -> ThesisConnection:
    page = thesis_page(first, after, searched=bool(flt.search))
    result = await ctx.stores.theses.list(flt, page)
    cursors = (
        [search_cursor(THESES, t, k) for t, k in keys_of(result)]
        if flt.search
        else [thesis_cursor(t) for t in result.items]
    )
    return ThesisConnection(
        edges=[
            ThesisEdge(cursor=cursor, node=Thesis.from_domain(t))
            for cursor, t in zip(cursors, result.items, strict=True)
        ],
        page_info=_page_info(result, cursors),
        total_count=result.total,
    )


async def _concepts_in_order(ctx: Context, ids: list[str]) -> list[Concept]:
    found = await ctx.loaders.concept.load_many(ids)
    return [Concept.from_domain(c) for c in found if c is not None]


async def path(
    ctx: Context,
    from_id: str,
    to_id: str,
    max_depth: int,
    types: list[domain.RelationType] | None,
) -> ConceptPath | None:
    check_range("maxDepth", max_depth, 1, 6)
    ends = await ctx.loaders.concept.load_many([i for i in (from_id, to_id) if is_id(i)])
    known = {c.id for c in ends if c is not None}
    for argument, ident in (("fromId", from_id), ("toId", to_id)):
        if ident not in known:
            # Not the same answer as "no path": the caller named a concept that is not there.
            raise UserInputError(f"`{argument}`: no concept has the id {ident!r}.")
    found = await ctx.stores.graph.shortest_path(from_id, to_id, max_depth, types)
    if found is None:
        return None
    return ConceptPath(
        concepts=await _concepts_in_order(ctx, found.concept_ids),
        relations=[Relation.from_domain(r) for r in found.relations],
        length=len(found.relations),
    )


async def graph(
    ctx: Context, root_id: str, depth: int, types: list[domain.RelationType] | None
) -> Graph | None:
    check_range("depth", depth, 1, 3)
    if not is_id(root_id) or await ctx.loaders.concept.load(root_id) is None:
        return None
    nodes, edges, truncated = await ctx.stores.graph.subgraph(root_id, depth, types)
    concepts = await _concepts_in_order(ctx, nodes)
    # The root first, then by name: a stable order for clients that lay the graph out.
    concepts[1:] = sorted(concepts[1:], key=lambda c: (c.name.lower(), str(c.id)))
    return Graph(
        nodes=concepts,
        edges=[Relation.from_domain(r) for r in edges],
        truncated=truncated,
    )


async def random_concept(ctx: Context, flt: domain.ConceptFilter) -> Concept | None:
    found = await ctx.stores.facets.random(flt)
    if found is None:
        return None
    ctx.loaders.concept.prime(found.id, found)
    return Concept.from_domain(found)


async def relations(
    ctx: Context, flt: domain.RelationFilter, first: int, after: str | None
) -> RelationConnection:
    page = relation_page(first, after)
    if any(i is not None and not is_id(i) for i in (flt.source_id, flt.target_id)):
        result: domain.PageResult[domain.Relation] = domain.PageResult(items=[], total=0)
    else:
        result = await ctx.stores.graph.list_relations(flt, page)
    cursors = [relation_cursor(r) for r in result.items]
    return RelationConnection(
        edges=[
            RelationEdge(cursor=cursor, node=Relation.from_domain(r))
            for cursor, r in zip(cursors, result.items, strict=True)
        ],
        page_info=_page_info(result, cursors),
        total_count=result.total,
    )
