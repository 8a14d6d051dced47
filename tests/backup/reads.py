"""The read queries a restored deployment must answer as the original did (those of
tests/api/test_queries.py, over the whole corpus), and records of every kind to back up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from philos.datasources.outbox import GRAPH, TOPIC_UPSERT, enqueue
from philos.datasources.sql.tables import outbox_t
from philos.datasources.stores import Stores
from philos.domain import RefreshToken, RelationType, Role, new_id, utcnow
from philos.domain.ai import AiCallRecord, RelationSuggestion
from tests.api.accounts import make_user
from tests.api.client import Api
from tests.sql_access import sql_db

CONCEPT_FIELDS = "id slug name summary tradition eraFrom eraTo tags aliases version createdAt"
CONCEPTS = f"""query($after: String){{ concepts(first: 100, after: $after) {{ totalCount
    pageInfo {{ hasNextPage endCursor }} nodes {{ {CONCEPT_FIELDS} }} }} }}"""
NESTED = """
    thesisCount
    theses { id statement stance arguments { polarity text strength } sources { author work year }
             concept { slug } }
    denials: theses(stance: DENIES) { statement }
    incoming: relations(direction: INCOMING) { id type weight source { slug } target { slug } }
    outgoing: relations(direction: OUTGOING) { id type }
    opposes: relations(types: [OPPOSES]) { source { slug } }
    neighbours(depth: 2) { distance concept { slug } }
"""
THESES = """query($after: String){ all: theses(first: 100, after: $after) { totalCount
    pageInfo { hasNextPage endCursor } nodes { id statement stance concept { slug } } } }"""
FILTERED = """{ denies: theses(filter: {stance: DENIES}) { totalCount nodes { statement } }
    found: theses(filter: {search: "the"}) { totalCount nodes { concept { slug } } } }"""
PATH = """query($a: ID!, $b: ID!){ path(fromId: $a, toId: $b, maxDepth: 6) {
    length concepts { slug } relations { type source { slug } target { slug } } } }"""
GRAPH_QUERY = """query($r: ID!){ graph(rootId: $r, depth: 2) {
    truncated nodes { slug } edges { type source { slug } target { slug } } } }"""


# Concepts per nested document: each list level is one batched store call per document, so
# fewer, larger documents mean fewer calls (a MongoDB-wire test server scans its collection
# on every call); within the cost limit.
NESTED_PER_DOCUMENT = 8


async def _pages(api: Api, query: str, field: str) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        page = (await api.data(query, {"after": after}))[field]
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            return pages
        after = page["pageInfo"]["endCursor"]


async def answers(api: Api) -> dict[str, Any]:
    """Every answer, keyed by what was asked."""
    concepts = await _pages(api, CONCEPTS, "concepts")
    found: dict[str, Any] = {"concepts": concepts}
    nodes = [n for page in concepts for n in page["nodes"]]
    for start in range(0, len(nodes), NESTED_PER_DOCUMENT):
        chunk = nodes[start : start + NESTED_PER_DOCUMENT]
        document = (
            "{ "
            + " ".join(
                f'c{i}: concept(slug: "{n["slug"]}") {{ {NESTED} }}' for i, n in enumerate(chunk)
            )
            + " }"
        )
        found[f"nested {start}"] = await api.data(document)
    found["theses"] = await _pages(api, THESES, "all")
    found["filtered"] = await api.data(FILTERED)
    ids = [n["id"] for n in nodes]
    for a, b in zip(ids[:8], reversed(ids[-8:]), strict=False):
        found[f"path {a} {b}"] = await api.data(PATH, {"a": a, "b": b})
    for root in ids[:: max(1, len(ids) // 8)]:
        found[f"graph {root}"] = await api.data(GRAPH_QUERY, {"r": root})
    return found


async def add_other_records(stores: Stores) -> None:
    """An account with a refresh token, and a model call with its suggestion, so every kind
    of record is in the backup."""
    user = await make_user(stores, "keeper", Role.EDITOR)
    now = utcnow()
    await stores.tokens.create(
        RefreshToken(
            new_id(),
            user.id,
            new_id(),
            new_id().replace("-", "") * 2,
            now,
            now + timedelta(days=30),
        )
    )
    page = await stores.concepts.list(*first_two())
    a, b = page.items[0], page.items[1]
    suggestion = RelationSuggestion(
        new_id(),
        a.id,
        a.id,
        b.id,
        RelationType.RELATED_TO,
        0.4,
        "They share a thread.",
        "model-x",
        "p1",
    )
    call = AiCallRecord(
        new_id(), "suggestRelations", "model-x", "p1", 10, 20, user.id, a.id, (suggestion.id,)
    )
    await stores.suggestions.add([suggestion], call)
    async with sql_db(stores).begin() as conn:  # an entry waiting for the relay
        if (await conn.execute(select(func.count()).select_from(outbox_t))).scalar_one() == 0:
            await enqueue(conn, TOPIC_UPSERT, a, [GRAPH])


def first_two() -> tuple[Any, Any, Any]:
    from philos.domain import ConceptFilter, ConceptOrder, Page

    return ConceptFilter(), ConceptOrder.NAME_ASC, Page(limit=2)
