"""Relations kept in Neo4j: their removal reaches ``relationChanged(conceptId)`` subscribers of
either concept, as on SQL (the removal's event names both concepts)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.events.clients import create_concept, graphql, token_for, websocket
from tests.events.replicas import SECRET, Replica

pytestmark = pytest.mark.timeout(180)

RELATION_CHANGED = """subscription($c: ID!) { relationChanged(conceptId: $c) {
  kind id conceptIds } }"""
RELATE = """mutation($input: RelateConceptsInput!) { relateConcepts(input: $input) {
  __typename ... on RelationSuccess { relation { id } } } }"""
REMOVE = """mutation($id: ID!) { removeRelation(id: $id) { __typename } }"""


async def test_a_removed_neo4j_relation_reaches_both_concepts_subscribers(
    neo4j_uri: str, tmp_path: Path
) -> None:
    # A cold Neo4j on a busy machine answers its first writes slowly.
    server = Replica(
        "neo4j-graph",
        tmp_path,
        NEO4J_URI=neo4j_uri,
        PHILOS_STORE_TIMEOUT="15",
        PHILOS_REQUEST_TIMEOUT="30",
    )
    server.start()
    try:
        server.wait_ready()
        token = token_for(SECRET)
        async with httpx.AsyncClient(timeout=10) as client:
            source = await create_concept(client, server.url, token, "Graph source")
            target = await create_concept(client, server.url, token, "Graph target")
            async with websocket(server.url) as ws:
                await ws.init({"Authorization": f"Bearer {token}"})
                of_source = await ws.subscribe(RELATION_CHANGED, {"c": source})
                of_target = await ws.subscribe(RELATION_CHANGED, {"c": target})
                await asyncio.sleep(0.5)  # the subscriptions are listening
                related = await graphql(
                    client,
                    server.url,
                    token,
                    RELATE,
                    {"input": {"sourceId": source, "targetId": target, "type": "INFLUENCED_BY"}},
                )
                assert related["relateConcepts"]["__typename"] == "RelationSuccess", related
                relation = related["relateConcepts"]["relation"]["id"]
                removed = await graphql(client, server.url, token, REMOVE, {"id": relation})
                assert removed["removeRelation"]["__typename"] == "DeleteSuccess", removed
                for op in (of_source, of_target):
                    seen = [(await ws.next_data(op=op))["relationChanged"] for _ in range(2)]
                    assert seen == [
                        {"kind": kind, "id": relation, "conceptIds": [source, target]}
                        for kind in ("CREATED", "DELETED")
                    ], server.diagnostics()
    finally:
        server.stop()
