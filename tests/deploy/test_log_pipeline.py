"""The log pipeline, live: Philos's own JSON log lines go through the OpenSearch ingest pipeline
(``deploy/logging/opensearch/philos-logs.json``, with its index template) of a real OpenSearch
2.19 node and come back from ``_search`` with the fields and tags the Logstash filter
(``deploy/logging/logstash/pipeline/philos.conf``) promises. For every line the document equals
what that Logstash filter makes of the same line (run by the interpreter of ``test_logging.py``),
so the two definitions cannot drift apart.

The lines are real: a ``philos serve`` process answering GraphQL requests, its usage error
(a line that is not JSON), and, for what HTTP cannot provoke at will (durations over a second,
Claude calls and their outcomes, unexpected errors with a traceback), the app's own logging
set-up and log calls in this process, with inputs drawn by hypothesis.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from graphql import GraphQLError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from philos.ai.prompts import Prompt
from philos.ai.service import AiSession
from philos.datasources.llm import LlmAnswer, StructuredOutput
from philos.datasources.ports import LlmFailed, LlmRateLimited, TokenUsage
from philos.gateway import errors, logs, metrics
from tests.deploy.test_logging import LOG_KEYS, PIPELINE, process
from tests.deploy.tools import DEPLOY
from tests.e2e.serve import start_server, stop_server

OPENSEARCH = DEPLOY / "logging" / "opensearch"
PIPELINE_FILE = OPENSEARCH / "philos-logs.json"
TEMPLATE_FILE = OPENSEARCH / "philos-logs-template.json"
PIPELINE_ID = "philos-logs"
INDICES = "philos-logs-*"

Doc = dict[str, Any]


# --- OpenSearch ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def search(opensearch_url: str) -> Iterator[httpx.Client]:
    """The node, with the shipped index template and pipeline loaded. (Tests find their own
    documents by request id or a marker, so a node from OPENSEARCH_URL keeps its indices.)"""
    with httpx.Client(base_url=opensearch_url, timeout=60) as client:
        put = client.put("/_index_template/philos-logs", json=json.loads(TEMPLATE_FILE.read_text()))
        assert put.json() == {"acknowledged": True}, put.text
        put = client.put(
            f"/_ingest/pipeline/{PIPELINE_ID}", json=json.loads(PIPELINE_FILE.read_text())
        )
        assert put.json() == {"acknowledged": True}, put.text
        yield client


def ship(client: httpx.Client, lines: list[str]) -> None:
    """What Filebeat sends for each line read: ``{"message": line}``, through the pipeline."""
    body = "".join(
        json.dumps({"index": {"_index": "philos-logs"}})
        + "\n"
        + json.dumps({"message": line})
        + "\n"
        for line in lines
    )
    response = client.post(
        f"/_bulk?pipeline={PIPELINE_ID}&refresh=true",
        content=body,
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert not result["errors"], result
    for item in result["items"]:
        # routed to the daily index by the pipeline, as the Logstash output names them
        assert item["index"]["_index"].startswith("philos-logs-20"), item


def find(client: httpx.Client, query: dict[str, Any], size: int = 500) -> list[Doc]:
    response = client.post(
        f"/{INDICES}/_search",
        json={"query": query, "size": size, "sort": [{"@timestamp": "asc"}]},
    )
    assert response.status_code == 200, response.text
    return [hit["_source"] for hit in response.json()["hits"]["hits"]]


def by_request(client: httpx.Client, request_id: str) -> list[Doc]:
    return find(client, {"term": {"philos.request_id": request_id}})


# --- what the Logstash filter makes of a line -------------------------------------------------


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def normalised(doc: Doc, *, timestamped: bool) -> Doc:
    out = dict(doc)
    out["tags"] = sorted(out.get("tags", []))
    stamp = out.pop("@timestamp", None)
    if timestamped:
        out["@timestamp"] = _instant(stamp)
    return out


def assert_agrees_with_logstash(line: str, doc: Doc) -> None:
    """The document equals what the Logstash filter makes of the line (both without the
    arrival time, which each stamps when the line has no timestamp of its own)."""
    expected = process(line)
    timestamped = "@timestamp" in expected
    assert "@timestamp" in doc
    assert normalised(doc, timestamped=timestamped) == normalised(
        expected, timestamped=timestamped
    ), line


def matching(lines: list[str], docs: list[Doc]) -> None:
    """Each line has its document (the same count, the same message) and each agrees."""
    assert len(docs) == len(lines), (lines, docs)
    remaining = list(docs)
    for line in lines:
        expected = process(line)
        candidates = [
            d
            for d in remaining
            if normalised(d, timestamped=False)["message"] == expected["message"]
        ]
        assert candidates, (line, remaining)
        doc = next(
            (
                d
                for d in candidates
                if normalised(d, timestamped="@timestamp" in expected)
                == normalised(expected, timestamped="@timestamp" in expected)
            ),
            candidates[0],
        )
        assert_agrees_with_logstash(line, doc)
        remaining.remove(doc)


# --- the app's log lines in this process ---------------------------------------------------------


@contextlib.contextmanager
def app_logging() -> Iterator[io.StringIO]:
    """The app's own ``configure_logging``, writing to a buffer instead of stdout; the logging
    state of the test session is put back afterwards."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved_uvicorn = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    saved_structlog = structlog.get_config()
    saved_flag = logs._configured
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            logs.configure_logging("INFO")  # its handler keeps the stream it saw: the buffer
        yield buffer
    finally:
        root.handlers, level = saved_root
        root.setLevel(level)
        for name, (handlers, propagate) in saved_uvicorn.items():
            logging.getLogger(name).handlers = handlers
            logging.getLogger(name).propagate = propagate
        structlog.configure(**saved_structlog)
        logs._configured = saved_flag
        structlog.contextvars.clear_contextvars()


class Answer(BaseModel):
    text: str


class ScriptedModel:
    """The LLM port answering one scripted way: the log line is written by the app's code."""

    name = "scripted"
    model = "claude-scripted"

    def __init__(self, outcome: str, usage: TokenUsage) -> None:
        self.outcome = outcome
        self.usage = usage

    async def complete(
        self, *, system: str, user: str, output: StructuredOutput[Any], max_tokens: int
    ) -> LlmAnswer[Any]:
        if self.outcome == "rate_limited":
            raise LlmRateLimited("slow down", retry_after=7)
        if self.outcome == "failed":
            raise LlmFailed("bad_output", "the answer did not fit", self.usage)
        return LlmAnswer(Answer(text="ok"), self.usage, "tool_use", self.model)

    async def aclose(self) -> None:
        return None


def claude_call(mutation: str, outcome: str, usage: TokenUsage) -> None:
    """One model call through ``AiSession._call``, the code that writes the ``ai.call`` line."""
    session = AiSession.__new__(AiSession)
    session.mutation = mutation
    session.llm = ScriptedModel(outcome, usage)
    prompt: Prompt[Answer] = Prompt(
        mutation=mutation,
        system="system",
        user="user",
        output=StructuredOutput("answer", "an answer", {}, Answer.model_validate),
        max_tokens=64,
    )
    with contextlib.suppress(LlmRateLimited, LlmFailed):
        asyncio.run(session._call(prompt, None))


def unexpected_error(field: str, request_id: str) -> None:
    """A resolver's unexpected exception, masked for the client and logged with its traceback."""
    try:
        raise RuntimeError(f"{field} broke")
    except RuntimeError as exc:
        errors.masked(GraphQLError("boom", path=[field], original_error=exc), request_id)


GRAPHQL_NAME = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,20}\Z")
OPERATION = st.tuples(
    st.just("operation"),
    st.one_of(st.none(), GRAPHQL_NAME),
    st.sampled_from(["query", "mutation", None]),
    st.sampled_from(["ok", "error"]),
    st.floats(min_value=0, max_value=30, allow_nan=False),  # seconds: some over one
    st.integers(min_value=0, max_value=3),
)
AI_CALL = st.tuples(
    st.just("ai"),
    st.sampled_from(["generateTheses", "suggestRelations", "summarizeConcept"]),
    st.sampled_from(["ok", "rate_limited", "failed"]),
    st.integers(min_value=0, max_value=200_000),
    st.integers(min_value=0, max_value=8_000),
)
ERROR = st.tuples(st.just("error"), GRAPHQL_NAME)
EVENTS = st.lists(st.one_of(OPERATION, AI_CALL, ERROR), min_size=1, max_size=6)


def emit(events: list[tuple[Any, ...]], request_id: str) -> list[str]:
    """Write the events through the app's logging; return the JSON lines it wrote."""
    with app_logging() as buffer:
        # what the request middleware binds for every line of a request
        structlog.contextvars.bind_contextvars(request_id=request_id, user_id="u-" + request_id)
        for event in events:
            if event[0] == "operation":
                _, name, kind, outcome, seconds, count = event
                metrics.log_operation(name, kind, outcome, seconds, count)
            elif event[0] == "ai":
                _, mutation, outcome, tokens_in, tokens_out = event
                claude_call(mutation, outcome, TokenUsage(tokens_in, tokens_out))
            else:
                unexpected_error(event[1], request_id)
    return buffer.getvalue().splitlines()


# --- tests -------------------------------------------------------------------------------------


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=EVENTS)
def test_app_log_lines_become_tagged_searchable_documents(
    search: httpx.Client, events: list[tuple[Any, ...]]
) -> None:
    request_id = uuid.uuid4().hex
    lines = emit(events, request_id)
    assert all(json.loads(line)["request_id"] == request_id for line in lines)
    ship(search, lines)

    docs = by_request(search, request_id)
    matching(lines, docs)
    for doc in docs:
        assert doc["philos"]["user_id"] == "u-" + request_id
        assert doc["log"]["logger"].startswith("philos.")
        assert "philos.timestamp" not in json.dumps(doc)
        tags = set(doc.get("tags", []))
        level = doc["log"]["level"]
        assert ("error" in tags) == (level in {"error", "critical"})
        assert "unparsed" not in tags
        if doc["message"] == "graphql.operation":
            assert isinstance(doc["philos"]["duration_ms"], float | int)
            assert doc["philos"]["operation"]
            assert ("slow" in tags) == (doc["philos"]["duration_ms"] > 1000)
        if doc["message"] == "ai.call":
            assert "ai" in tags
            assert ("ai_failure" in tags) == (doc["philos"]["ai_outcome"] != "ok")
            assert isinstance(doc["philos"]["output_tokens"], int)
        else:
            assert not tags & {"ai", "ai_failure"}
        if doc["message"].startswith("unexpected error"):
            assert "error" in tags
            assert "Traceback" in doc["error"]["stack_trace"]

    # the queries of docs/operations.md answer
    operations = [e for e in events if e[0] == "operation"]
    ai_failures = [e for e in events if e[0] == "ai" and e[2] != "ok"]
    scoped = {"term": {"philos.request_id": request_id}}
    tagged = find(search, {"bool": {"filter": [scoped, {"term": {"tags": "ai_failure"}}]}})
    assert len(tagged) == len(ai_failures)
    slow = find(search, {"bool": {"filter": [scoped, {"term": {"tags": "slow"}}]}})
    assert len(slow) == sum(1 for e in operations if round(e[4] * 1000, 2) > 1000) + sum(
        1 for d in docs if d["message"] == "ai.call" and d["philos"]["duration_ms"] > 1000
    )
    named = [e[1] or "anonymous" for e in operations]
    for name in set(named):
        hits = find(search, {"bool": {"filter": [scoped, {"term": {"philos.operation": name}}]}})
        assert len(hits) == named.count(name)
    # as typed in the search bar (query string syntax)
    typed = f'philos.request_id:"{request_id}" AND tags:slow AND philos.operation:*'
    slow_operations = find(search, {"query_string": {"query": typed}})
    assert len(slow_operations) == sum(1 for e in operations if round(e[4] * 1000, 2) > 1000)
    typed = f'philos.request_id:"{request_id}" AND tags:error'
    assert len(find(search, {"query_string": {"query": typed}})) == sum(
        1 for e in events if e[0] == "error"
    )


def test_node_is_the_opensearch_the_docs_name_with_the_processors_used(
    search: httpx.Client,
) -> None:
    pom = (Path(__file__).parent.parent / "services" / "opensearch" / "pom.xml").read_text()
    version = re.search(r"<opensearch.version>([\d.]+)</", pom)
    assert version
    info = search.get("/").json()["version"]
    assert (info["distribution"], info["number"]) == ("opensearch", version.group(1))
    nodes = search.get("/_nodes/ingest").json()["nodes"]
    available = {p["type"] for node in nodes.values() for p in node["ingest"]["processors"]}
    used = {kind for step in json.loads(PIPELINE_FILE.read_text())["processors"] for kind in step}
    assert used <= available, used - available


def appended_tags(node: Any) -> set[str]:
    """Every tag an ``append`` processor anywhere in the pipeline adds to ``tags``."""
    found: set[str] = set()
    if isinstance(node, dict):
        spec = node.get("append")
        if isinstance(spec, dict) and spec.get("field") == "tags":
            found |= set(spec["value"])
        for value in node.values():
            found |= appended_tags(value)
    elif isinstance(node, list):
        for value in node:
            found |= appended_tags(value)
    return found


def test_pipeline_sets_the_tags_and_reads_the_fields_the_logstash_filter_does() -> None:
    """Without a node: the same tags (plus ``pipeline_failure``, for a processor that fails,
    which Logstash reports in its own log instead) and only app fields the filter knows."""
    logstash = PIPELINE.read_text()
    groups = re.findall(r"(?:add_tag|tag_on_failure) => \[([^\]]*)\]", logstash)
    wanted = {tag.strip().strip('"') for group in groups for tag in group.split(",")}
    pipeline = json.loads(PIPELINE_FILE.read_text())
    assert appended_tags(pipeline) == wanted | {"pipeline_failure"}
    fields = set(re.findall(r"philos\??\.([a-z_]+)", json.dumps(pipeline["processors"])))
    assert fields <= LOG_KEYS, fields - LOG_KEYS
    assert set(re.findall(r"\[philos\]\[([a-z_]+)\]", logstash)) == fields


SERVE_REQUEST = st.tuples(
    GRAPHQL_NAME,
    st.sampled_from(["ok", "syntax", "unknown_field"]),
    st.from_regex(r"\A[A-Za-z0-9._:-]{8,40}\Z"),
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("philos-serve-logs")
    server = start_server(data)
    try:
        yield str(server), server.log
    finally:
        stop_server(server)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(requests=st.lists(SERVE_REQUEST, min_size=1, max_size=4, unique_by=lambda r: r[2]))
def test_philos_serve_lines_are_found_by_request_id(
    search: httpx.Client, served: tuple[str, Path], requests: list[tuple[str, str, str]]
) -> None:
    base, log = served
    start = log.stat().st_size
    documents = {
        "ok": "query {name} {{ __typename }}",
        "syntax": "query {name} {{ __typename ",
        "unknown_field": "query {name} {{ noSuchField }}",
    }
    # unique per run (hypothesis replays examples), in the shapes the middleware accepts
    requests = [(name, kind, f"{uuid.uuid4().hex[:12]}.{rid}") for name, kind, rid in requests]
    for name, kind, request_id in requests:
        response = httpx.post(
            f"{base}/graphql",
            json={"query": documents[kind].format(name=name), "operationName": name},
            headers={"X-Request-ID": request_id},
            timeout=30,
        )
        assert response.headers["x-request-id"] == request_id
    lines = [line for line in log.read_bytes()[start:].decode().splitlines() if line.strip()]
    assert lines, "philos serve logged nothing"
    ship(search, lines)

    for name, kind, request_id in requests:
        own = [line for line in lines if json.loads(line).get("request_id") == request_id]
        docs = by_request(search, request_id)
        matching(own, docs)
        typed = {"query_string": {"query": f'philos.request_id:"{request_id}"'}}
        assert len(find(search, typed)) == len(docs)
        assert any(d["log"]["logger"] == "uvicorn.access" for d in docs), docs
        operations = [d for d in docs if d["message"] == "graphql.operation"]
        if kind == "syntax" and not operations:
            continue  # a document that does not parse is not an operation (no such line)
        (operation,) = operations
        assert operation["philos"]["operation"] == name
        assert operation["philos"]["outcome"] == ("ok" if kind == "ok" else "error")
        assert isinstance(operation["philos"]["duration_ms"], float | int)
        assert operation["log"] == {"level": "info", "logger": "philos.access"}


def test_a_line_that_is_not_json_is_tagged_not_lost(search: httpx.Client, tmp_path: Path) -> None:
    # What `philos serve` prints when it cannot start: argparse's usage text, not JSON.
    run = subprocess.run(
        [sys.executable, "-m", "philos", "serve", "--port", "not-a-port"],
        env={"PHILOS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert any("invalid int value" in line for line in lines), run.stderr
    marker = uuid.uuid4().hex
    broken = '{"event": "cut off ' + marker  # a JSON line truncated mid-way
    ship(search, [*lines, broken])

    for line in [*lines, broken]:
        docs = find(search, {"match_phrase": {"message": line}})
        exact = [d for d in docs if d["message"] == line]
        assert exact, line
        doc = exact[0]
        assert doc["tags"] == ["unparsed"]
        assert "philos" not in doc
        assert_agrees_with_logstash(line, doc)
    unparsed = find(search, {"term": {"tags": "unparsed"}})
    assert any(marker in d["message"] for d in unparsed)
