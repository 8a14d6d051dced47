"""The federated deployment answers like the monolith: the README examples and the compiled-query
cases give equal JSON through the real gateway and through one process; entities are batched;
writes, tokens and request ids pass through; the gateway limits queries itself; one subgraph
down costs only its own fields; the committed supergraph is what the subgraphs compose to."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLSchema, build_schema, lexicographic_sort_schema, print_schema
from hypothesis import HealthCheck, given, settings
from hypothesis_graphql import Mode, queries

from tests.api.test_compiled import QUERIES, QUERIES_NAMED
from tests.federation.conftest import FEDERATION, ROOT, Federation
from tests.fuzz.strategies import SDL

README = ROOT / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
STRONG_PASSWORD = "Quiet-harbour-lantern-77"


def post(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    operation: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    sent = dict(headers or {})
    if token:
        sent["authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation:
        body["operationName"] = operation
    response = httpx.post(url, json=body, headers=sent, timeout=30)
    answer: dict[str, Any] = response.json()
    answer.pop("extensions", None)
    return answer


def both(fed: Federation, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    via_gateway = post(fed.gateway_url, query, variables, **kw)
    direct = post(fed.monolith_url, query, variables, **kw)
    for answer in (via_gateway, direct):  # drawn at random: only its presence can agree
        if (answer.get("data") or {}).get("randomConcept"):
            answer["data"]["randomConcept"] = "drawn"
    assert via_gateway == direct, f"{query}\ngateway: {str(via_gateway)[:800]}\n"
    return direct


def test_readme_examples_answer_alike(federation: Federation) -> None:
    assert len(EXAMPLES) >= 5
    for example in EXAMPLES:
        answer = both(federation, example)
        assert "errors" not in answer, answer


def test_compiled_query_cases_answer_alike(federation: Federation) -> None:
    for query, variables in QUERIES:
        operation = next((op for frag, op in QUERIES_NAMED.items() if frag in query), None)
        answer = both(federation, query, variables, operation=operation)
        assert "errors" not in answer, (query, answer)


def _store_calls(metrics_url: str) -> float:
    text = httpx.get(metrics_url, timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("philos_store_call_duration_seconds_count")
    )


@pytest.mark.parametrize("subgraph", ["theses", "graph"])
def test_entities_are_resolved_in_one_batch(federation: Federation, subgraph: str) -> None:
    """The gateway asks the subgraph for N concepts' fields in one ``_entities`` call; the
    subgraph loads them through its DataLoaders: as many store calls for 50 as for 5."""
    field = {"theses": "thesisCount", "graph": "relations { id }"}[subgraph]
    metrics = federation.subgraphs[subgraph].url + "/metrics"
    calls = []
    for n in (5, 50):
        before = _store_calls(metrics)
        answer = post(
            federation.gateway_url, f"{{ concepts(first: {n}) {{ nodes {{ {field} }} }} }}"
        )
        assert "errors" not in answer and len(answer["data"]["concepts"]["nodes"]) == n
        calls.append(_store_calls(metrics) - before)
    assert calls[0] == calls[1], calls
    assert 1 <= calls[0] <= 2, calls  # the concepts themselves, then what the field reads


def test_writes_tokens_and_request_ids_pass_through(federation: Federation) -> None:
    url = federation.gateway_url
    registered = post(
        url,
        "mutation($e: String!, $p: String!) { register(email: $e, password: $p, "
        'displayName: "Hypatia") { __typename ... on AuthSuccess { accessToken user { role } } '
        "... on Problem { message } } }",
        {"e": "hypatia@example.org", "p": STRONG_PASSWORD},
    )
    result = registered["data"]["register"]
    assert result["__typename"] == "AuthSuccess", result
    token = result["accessToken"]
    assert post(url, "{ me { displayName } }", token=token)["data"]["me"] == {
        "displayName": "Hypatia"
    }
    assert post(url, "{ me { displayName } }")["data"]["me"] is None

    create = (
        "mutation($i: CreateConceptInput!) { createConcept(input: $i) { __typename "
        "... on ConceptSuccess { concept { id slug thesisCount author { displayName } } } } }"
    )
    concept = {
        "slug": "federated-reason",
        "name": "Federated reason",
        "summary": "A concept made through the gateway.",
    }
    refused = post(url, create, {"i": concept})["data"]["createConcept"]
    assert refused["__typename"] == "Forbidden"
    made = post(url, create, {"i": concept}, token=token)["data"]["createConcept"]
    assert made["__typename"] == "ConceptSuccess", made
    assert made["concept"]["author"] == {"displayName": "Hypatia"}
    assert made["concept"]["thesisCount"] == 0
    thesis = post(
        url,
        "mutation($i: CreateThesisInput!) { createThesis(input: $i) { __typename } }",
        {
            "i": {
                "conceptId": made["concept"]["id"],
                "statement": "Reason composes across services without losing its unity.",
                "stance": "AFFIRMS",
            }
        },
        token=token,
    )
    assert thesis["data"]["createThesis"]["__typename"] == "ThesisSuccess", thesis
    query = "query($s: String!) { concept(slug: $s) { name thesisCount theses { stance } } }"
    read = both(federation, query, {"s": made["concept"]["slug"]})
    assert read["data"]["concept"]["thesisCount"] == 1

    response = httpx.post(
        url,
        json={"query": '{ concept(slug: "dasein") { name thesisCount } }'},
        headers={"x-request-id": "fed-trace-1", "x-forwarded-for": "203.0.113.7"},
    )
    assert response.headers.get("x-request-id") == "fed-trace-1"
    # ...and both subgraphs the query reached served it under the client's request id.
    for name in ("concepts", "theses"):
        log = federation.subgraphs[name].log.read_text()
        lines = [line for line in log.splitlines() if '"fed-trace-1"' in line]
        # The access line names the client's address as the gateway forwarded it.
        assert any("203.0.113.7" in line and "POST /graphql" in line for line in lines), lines


def test_the_gateway_limits_queries_itself(federation: Federation) -> None:
    url = federation.gateway_url
    deep = '{ concept(slug: "dasein") { ' + "relations { source { " * 6 + "name" + " } }" * 6
    deep += " } }"
    # The gateway's own messages (a subgraph words its refusals differently).
    assert "Query depth limit of 10 exceeded" in str(post(url, deep)["errors"])
    aliases = "{ " + " ".join(f'a{i}: concept(slug: "dasein") {{ name }}' for i in range(20))
    assert "Aliases limit of 15 exceeded" in str(post(url, aliases + " }")["errors"])
    # At the limit, the gateway's own aliases for the subgraph calls do not push them over it.
    at_limit = " ".join(
        f'a{i}: concept(slug: "dasein") {{ name thesisCount relations {{ type }} }}'
        for i in range(15)
    )
    assert "errors" not in both(federation, "{ " + at_limit + " }")
    walk = "concepts(first: 100) { nodes { relations { source { relations { target { "
    walk += "relations { target { name slug summary } } } } } } } }"
    costly = "{ " + " ".join(f"w{i}: {walk}" for i in range(5)) + " }"
    refused = post(url, costly)["errors"]
    assert refused[0]["extensions"]["code"] == "COST_LIMIT_EXCEEDED", refused
    assert "serviceName" not in refused[0]["extensions"]  # not a subgraph's refusal
    metrics = httpx.get(federation.gateway.url + "/metrics", timeout=10).text
    assert "graphql_gateway_subgraph_execute_duration" in metrics


def test_supergraph_is_what_the_subgraphs_compose(federation: Federation, tmp_path: Path) -> None:
    for name, process in federation.subgraphs.items():
        sdl = post(process.url + "/graphql", "{ _service { sdl } }")["data"]["_service"]["sdl"]
        (tmp_path / f"{name}.graphql").write_text(sdl)
        assert sdl == (FEDERATION / "subgraphs" / f"{name}.graphql").read_text(), name
    out, public = tmp_path / "supergraph.graphql", tmp_path / "public.graphql"
    composed = subprocess.run(
        ["node", "compose.mjs", str(tmp_path), str(out), str(public)],
        cwd=FEDERATION,
        capture_output=True,
        text=True,
    )
    assert composed.returncode == 0, composed.stderr
    committed = (FEDERATION / "supergraph.graphql").read_text()
    assert out.read_text() == committed, "supergraph.graphql drifted: run `make supergraph`"

    def canonical(sdl: str) -> str:
        # Subscriptions are served by the monolith and by each subgraph's own /graphql, not
        # through the gateway (docs/federation.md): compare what queries and mutations reach.
        built = build_schema(sdl)
        reached = GraphQLSchema(query=built.query_type, mutation=built.mutation_type)
        return print_schema(lexicographic_sort_schema(reached))

    assert canonical(public.read_text()) == canonical((ROOT / "schema.graphql").read_text())
    assert build_schema(public.read_text()).subscription_type is None


def test_one_subgraph_down_costs_only_its_fields(federation: Federation) -> None:
    graph = federation.subgraphs["graph"]
    query = '{ concept(slug: "dasein") { name thesisCount relations { type } } }'
    graph.stop()
    try:
        answer = post(federation.gateway_url, query)
        assert answer["data"]["concept"]["name"] == "Dasein"
        assert answer["data"]["concept"]["thesisCount"] >= 1
        assert answer["data"]["concept"]["relations"] is None
        # One error, at the concept whose fields graph-service owns, naming the service.
        assert answer["errors"] == [
            {
                "message": "graph-service is unavailable",
                "path": ["concept"],
                "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": "graph-service"},
            }
        ], answer["errors"]
        ready = httpx.get(federation.gateway.url + "/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["missing"] == ["graph-service"]
    finally:
        graph.start()
        graph.wait_ready(time.monotonic() + 60)
    assert httpx.get(federation.gateway.url + "/ready", timeout=10).status_code == 200


def _generated(count: int) -> list[str]:
    """Valid read queries from the schema over roots of three subgraphs (hypothesis-graphql,
    derandomized, arguments inline)."""
    found: list[str] = []
    roots = ["concepts", "concept", "theses", "thesis", "relations", "tags", "eras", "traditions"]

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(SDL, fields=roots, mode=Mode.POSITIVE))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


def test_schema_generated_queries_answer_alike(federation: Federation) -> None:
    """Whatever the schema allows over these fields: the same data through the gateway as from
    the monolith; where the monolith refuses (a limit, a bad argument), the gateway refuses
    too, with errors rather than a failure."""
    compared = 0
    for query in _generated(80):
        direct = post(federation.monolith_url, query)
        via_gateway = post(federation.gateway_url, query)
        if "errors" in direct:
            assert via_gateway.get("errors"), (query, via_gateway)
            continue
        assert via_gateway == direct, f"{query}\ngateway: {str(via_gateway)[:800]}"
        compared += 1
    assert compared >= 25, compared  # the others ask for what the monolith refuses
