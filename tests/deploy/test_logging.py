"""The Logstash pipeline: it parses (Logstash's grammar, via logstash-pipeline-parser), uses
only plugins a stock Logstash ships, and turns the app's JSON log lines into tagged events.

Logstash itself (a JVM distribution) is not installable here, so the filter section is run by
a small interpreter below that covers exactly the constructs the pipeline uses (json, date,
mutate, if/else if/else with field tests, ==, !=, in, =~, > and `and`) and refuses anything
else. Changing the pipeline to use something new makes these tests fail until the interpreter
learns it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed (types-PyYAML)

from tests.deploy.tools import DEPLOY, module

PIPELINE = DEPLOY / "logging" / "logstash" / "pipeline" / "philos.conf"
FILEBEAT = DEPLOY / "logging" / "filebeat" / "filebeat.yml"

# What the app logs (structlog JSON lines), plus structlog's exception renderer.
LOG_KEYS = {
    "timestamp",
    "level",
    "event",
    "logger",
    "request_id",
    "operation",
    "user_id",
    "duration_ms",
    "ai_mutation",
    "ai_outcome",
    "input_tokens",
    "output_tokens",
    "exception",
}
# Plugins bundled with the default Logstash 8 distribution that the pipeline may use.
BUNDLED = {
    "input": {"beats", "tcp", "http", "udp"},
    "filter": {"json", "date", "mutate", "grok", "drop"},
    "output": {"elasticsearch", "stdout"},
    "codec": {"json", "json_lines", "plain"},
}


def parse() -> list[Any]:
    parser = module("logstash_pipeline_parser")
    tree: list[Any] = parser.Pipeline(PIPELINE.read_text()).parse()
    return tree


def section(tree: list[Any], name: str) -> list[Any]:
    body: list[Any]
    (body,) = [body for kind, body in tree if kind == name]
    return body


# --- a tiny Logstash ---------------------------------------------------------------------------

Event = dict[str, Any]


def ref_path(ref: str) -> list[str]:
    """'[philos][level]' -> ['philos', 'level']; 'message' -> ['message']."""
    parts = re.findall(r"\[([^\]]+)\]", ref)
    return parts or [ref]


def get(event: Event, ref: str) -> Any:
    node: Any = event
    for key in ref_path(ref):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def put(event: Event, ref: str, value: Any) -> None:
    *parents, last = ref_path(ref)
    node = event
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def pop(event: Event, ref: str) -> Any:
    *parents, last = ref_path(ref)
    node: Any = event
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    return node.pop(last, None) if isinstance(node, dict) else None


def sprintf(event: Event, template: str) -> str:
    return re.sub(r"%\{([^}]+)\}", lambda m: str(get(event, m.group(1))), template)


def tag(event: Event, tags: list[str]) -> None:
    event.setdefault("tags", [])
    event["tags"].extend(t for t in tags if t not in event["tags"])


def options(pairs: list[Any]) -> dict[str, Any]:
    """[['source', ['message']], ...] -> {'source': 'message', ...}."""
    out = {}
    for name, (value,) in pairs:
        if isinstance(value, list) and value and isinstance(value[0], list):
            out[name] = {k: v[0] for k, v in value}  # a hash: [[key, [value]], ...]
        else:
            out[name] = value
    return out


def run_plugin(event: Event, name: str, opts: dict[str, Any]) -> None:
    if name == "json":
        try:
            parsed = json.loads(get(event, opts["source"]))
        except (TypeError, ValueError):
            tag(event, opts.get("tag_on_failure", ["_jsonparsefailure"]))
            return
        put(event, opts["target"], parsed)
    elif name == "date":
        field, fmt = opts["match"]
        assert fmt == "ISO8601"
        try:
            value = datetime.fromisoformat(str(get(event, field)).replace("Z", "+00:00"))
        except ValueError:
            tag(event, opts.get("tag_on_failure", ["_dateparsefailure"]))
            return
        put(event, opts["target"], value)
    elif name == "mutate":
        # Logstash applies mutate's operations in this fixed order, whatever the file says.
        order = ["rename", "replace", "convert", "lowercase", "remove_field", "add_tag"]
        assert set(opts) <= set(order), f"mutate: unsupported {set(opts) - set(order)}"
        for src, dst in opts.get("rename", {}).items():
            if get(event, src) is not None:
                put(event, dst, pop(event, src))
        for field, template in opts.get("replace", {}).items():
            put(event, field, sprintf(event, template))
        casts = {"float": float, "integer": int, "string": str}
        for field, kind in opts.get("convert", {}).items():
            if get(event, field) is not None:
                put(event, field, casts[kind](get(event, field)))
        for field in opts.get("lowercase", []):
            if isinstance(get(event, field), str):
                put(event, field, get(event, field).lower())
        for field in opts.get("remove_field", []):
            pop(event, field)
        tag(event, opts.get("add_tag", []))
    else:
        raise AssertionError(f"the test interpreter does not know the {name} filter")


def truthy(event: Event, cond: list[Any]) -> bool:
    if len(cond) == 1:
        return get(event, cond[0]) not in (None, False, "")
    if len(cond) == 2 and cond[0] == "!":
        return get(event, cond[1]) in (None, False, "")
    left, op, right = cond
    value = get(event, left)
    if op == "==":
        return bool(value == right)
    if op == "!=":
        return bool(value != right)
    if op == "in":
        return value in right
    if op == "=~":
        return isinstance(value, str) and re.search(right, value) is not None
    if op == ">":
        return value is not None and value > right
    raise AssertionError(f"the test interpreter does not know the operator {op}")


def condition(event: Event, parts: list[Any]) -> bool:
    result = truthy(event, parts[0])
    for i in range(1, len(parts), 2):
        assert parts[i] == "and", f"the test interpreter does not know {parts[i]!r}"
        result = result and truthy(event, parts[i + 1])
    return result


def run_block(event: Event, block: list[Any]) -> None:
    taken = False
    for name, body in block:
        if name in {"if", "else if"}:
            if name == "if":
                taken = False
            *cond, (inner,) = body
            if not taken and condition(event, cond):
                taken = True
                run_block(event, inner)
        elif name == "else":
            if not taken:
                run_block(event, body[0])
            taken = False
        else:
            run_plugin(event, name, options(body))


def process(line: str) -> Event:
    """What the pipeline makes of one line Filebeat read from the container's stdout."""
    event: Event = {"message": line}
    run_block(event, section(parse(), "filter"))
    return event


def log_line(**fields: Any) -> str:
    base = {"timestamp": "2026-11-27T10:15:30.123456Z", "logger": "philos.gateway"}
    return json.dumps(base | fields)


# --- tests -----------------------------------------------------------------------------------


def test_pipeline_parses_with_logstash_grammar() -> None:
    assert [kind for kind, _ in parse()] == ["input", "filter", "output"]


def test_parser_rejects_a_broken_pipeline() -> None:
    parser = module("logstash_pipeline_parser")
    with pytest.raises(Exception, match=r"(?i)expected"):
        parser.Pipeline('filter { mutate { add_tag => ["x" } }').parse()


def test_pipeline_uses_only_bundled_plugins() -> None:
    tree = parse()

    def plugins(block: list[Any]) -> set[str]:
        names = set()
        for name, body in block:
            if name in {"if", "else if"}:
                names |= plugins(body[-1][0])
            elif name == "else":
                names |= plugins(body[0])
            else:
                names.add(name)
        return names

    for kind in ("input", "filter", "output"):
        used = plugins(section(tree, kind))
        assert used <= BUNDLED[kind], f"{kind}: {used - BUNDLED[kind]} not bundled"
    codecs = {
        opts["codec"] if isinstance(opts["codec"], str) else opts["codec"][0]
        for _, body in section(tree, "input")
        if "codec" in (opts := {k: v[0] for k, v in body})
    }
    assert codecs <= BUNDLED["codec"]


def test_pipeline_refers_only_to_fields_the_app_logs() -> None:
    text = PIPELINE.read_text()
    referenced = set(re.findall(r"\[philos\]\[([a-z_]+)\]", text))
    assert referenced, "the pipeline reads no app field"
    assert referenced <= LOG_KEYS, f"unknown log keys: {referenced - LOG_KEYS}"


def test_info_line_becomes_an_ecs_event() -> None:
    event = process(
        log_line(
            level="info",
            event="graphql operation",
            request_id="r-1",
            operation="Concepts",
            user_id="u-1",
            duration_ms="12.5",
        )
    )
    assert event["message"] == "graphql operation"
    assert event["log"] == {"level": "info", "logger": "philos.gateway"}
    assert event["@timestamp"].isoformat() == "2026-11-27T10:15:30.123456+00:00"
    assert event["philos"] == {
        "request_id": "r-1",
        "operation": "Concepts",
        "user_id": "u-1",
        "duration_ms": 12.5,
    }
    assert event.get("tags", []) == []


@pytest.mark.parametrize(
    ("fields", "tags"),
    [
        ({"level": "error", "event": "unexpected error", "exception": "Traceback..."}, ["error"]),
        ({"level": "CRITICAL", "event": "store down"}, ["error"]),
        ({"level": "warning", "event": "readiness check failed"}, []),
        (
            {"level": "info", "event": "ai call", "ai_mutation": "generateTheses"}
            | {"ai_outcome": "ok", "input_tokens": 812, "output_tokens": "1290"},
            ["ai"],
        ),
        (
            {"level": "warning", "event": "ai call", "ai_mutation": "suggestRelations"}
            | {"ai_outcome": "rate_limited"},
            ["ai", "ai_failure"],
        ),
        (
            {"level": "error", "event": "ai call", "ai_mutation": "generateTheses"}
            | {"ai_outcome": "failed"},
            ["error", "ai", "ai_failure"],
        ),
        ({"level": "info", "event": "graphql operation", "duration_ms": 2500.0}, ["slow"]),
    ],
    ids=["error", "critical", "warning", "ai-ok", "ai-rate-limited", "ai-failed", "slow"],
)
def test_pipeline_tags_errors_and_ai_calls(fields: dict[str, Any], tags: list[str]) -> None:
    event = process(log_line(**fields))
    assert sorted(event.get("tags", [])) == sorted(tags)
    if "exception" in fields:
        assert event["error"]["stack_trace"] == fields["exception"]
    if "output_tokens" in fields:
        assert event["philos"]["output_tokens"] == int(fields["output_tokens"])


def test_non_json_line_is_kept_and_tagged() -> None:
    line = "Traceback (most recent call last):"
    event = process(line)
    assert event["message"] == line
    assert event["tags"] == ["unparsed"]


def test_broken_json_is_kept_and_tagged() -> None:
    event = process('{"level": "info", "event": ')
    assert event["tags"] == ["unparsed"]
    assert "philos" not in event


def test_filebeat_ships_to_the_pipeline_beats_input() -> None:
    beats = next(body for name, body in section(parse(), "input") if name == "beats")
    port = {k: v[0] for k, v in beats}["port"]
    filebeat = yaml.safe_load(FILEBEAT.read_text())
    assert filebeat["output.logstash"]["hosts"] == [f"logstash:{port}"]
    compose = yaml.safe_load((Path(DEPLOY).parent / "docker-compose.yml").read_text())
    assert "logstash" in compose["services"]
    assert compose["services"]["logstash"]["profiles"] == ["logging"]


def test_output_writes_daily_philos_indices() -> None:
    (elastic,) = [body for name, body in section(parse(), "output") if name == "elasticsearch"]
    opts = options(elastic)
    assert opts["index"].startswith("philos-logs-")
    assert opts["data_stream"] is False
