"""Text with the NUL character is refused before it reaches a store, on every backend: the
client gets a clear error, nothing is written, and no store's circuit breaker counts it."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api

NUL_MESSAGE = "Text in a request must be valid Unicode without NUL"


async def _refused(api: Api, query: str, variables: dict[str, Any] | None = None) -> None:
    body = await api.post(query, variables)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"].startswith(NUL_MESSAGE)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nul_in_arguments_and_variables_is_refused(api: Api) -> None:
    # Enough requests to open any breaker that counted them (the threshold is 5).
    for _ in range(3):
        await _refused(api, '{ concept(slug: "forms\\u0000") { id } }')
        await _refused(api, '{ concepts(filter: {search: "a\\u{0}b"}) { totalCount } }')
        await _refused(
            api,
            "query($f: ConceptFilter) { concepts(filter: $f) { totalCount } }",
            {"f": {"tags": ["ethics", "x\x00"]}},
        )
    before = await api.data("{ concepts { totalCount } }")
    await _refused(
        api,
        "mutation($input: CreateConceptInput!) { createConcept(input: $input) { __typename } }",
        {"input": {"slug": "nul-name", "name": "Nul\x00name", "summary": "A summary."}},
    )
    # The stores still answer (no breaker opened), and nothing was written.
    assert await api.data("{ concepts { totalCount } }") == before
    found = await api.data('{ concept(slug: "forms") { name } }')
    assert found["concept"]["name"] == "Theory of Forms"


async def test_other_escapes_still_work(api: Api) -> None:
    data = await api.data('{ concepts(filter: {search: "\\u0046orms"}) { nodes { slug } } }')
    assert [n["slug"] for n in data["concepts"]["nodes"]] == ["forms"]


async def test_a_strict_client_gets_400(api: Api) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": '{ concept(slug: "\\u0000") { id } }'},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
