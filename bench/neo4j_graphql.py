"""The split wiring's peer: the Neo4j GraphQL Library (``@neo4j/graphql`` on ``@apollo/server``,
one Node process, ``bench/neo4j-graphql/``) reading the Neo4j graph Philos's adapter writes.

It answers query (b) only: 50 concepts by name, each with its outgoing relations of all ten
types and the targets' names. Its schema has one field per relationship type (the library has
none over relationships of any type), so the document asks for the ten connections, aliased
to the type names, each sorted as Philos sorts a concept's relations (weight descending, then
id; the types in name order). ``as_philos`` turns its answer into Philos's shape (the ten lists
joined in type order, each item given its ``type``) so the harness can check that both answer
the same; nothing is dropped or reordered on the way.

The cold requests' no-op variable is the connections' ``first: $k`` (k from the relations per
concept to 100, as PostGraphile's).
"""

# It runs npm and node with arguments it builds.

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from bench.common import BENCH, LOOPBACK, npm_ci
from bench.options import Options
from bench.queries import CYCLE, MAX_FIRST, PAGE, Cycle, Shape, Value
from bench.targets import ServerUnderTest
from philos.domain import RelationType
from tests.services.servers import free_port

NAME = "neo4j-graphql"
PACKAGE = BENCH / "neo4j-graphql"
SERVER = PACKAGE / "server.mjs"
LIBRARY = PACKAGE / "node_modules" / "@neo4j" / "graphql" / "package.json"
QUERIES = ("b",)


def _field(kind: RelationType) -> str:
    """The schema's field for a type: IS_A -> isA (as in server.mjs)."""
    head, *rest = kind.value.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


_CONNECTIONS = "\n".join(
    f"    {kind.value}: {_field(kind)}Connection(first: $k, "
    "sort: [{edge: {weight: DESC}}, {edge: {id: ASC}}]) { edges { node { name } } }"
    for kind in sorted(RelationType, key=lambda t: t.value)
)
B_NEO4J_GRAPHQL = f"""query B($offset: Int, $k: Int!) {{
  concepts(limit: {PAGE}, offset: $offset, sort: [{{name: ASC}}, {{id: ASC}}]) {{
    name
{_CONNECTIONS}
  }}
}}"""


def template(key: str, value: Value) -> str:
    if key not in QUERIES:
        raise KeyError(f"{NAME} answers only ({', '.join(QUERIES)})")
    assert isinstance(value, tuple)
    body = {"query": B_NEO4J_GRAPHQL, "variables": {"offset": value[0], "k": CYCLE}}
    return json.dumps(body, separators=(",", ":"))


def cycle(key: str, shape: Shape) -> Cycle:
    low = max(1, shape.relations_per_concept)
    return Cycle(low=low, high=max(low, MAX_FIRST))


def as_philos(answer: Any) -> Any:
    """The answer in Philos's shape: ``concepts.nodes[].relations[] {type target {name}}``."""
    if not isinstance(answer, dict) or answer.get("errors") or not answer.get("data"):
        return answer
    nodes = []
    for concept in answer["data"]["concepts"]:
        relations = [
            {"type": kind.value, "target": edge["node"]}
            for kind in sorted(RelationType, key=lambda t: t.value)
            for edge in concept[kind.value]["edges"]
        ]
        nodes.append({"name": concept["name"], "relations": relations})
    return {"data": {"concepts": {"nodes": nodes}}}


def ensure_installed() -> str:
    """``npm ci`` in bench/neo4j-graphql/ when needed; the library's version."""
    npm_ci(PACKAGE, LIBRARY, "@neo4j/graphql")
    versions = []
    for package in ("@neo4j/graphql", "@apollo/server", "neo4j-driver"):
        manifest = json.loads((PACKAGE / "node_modules" / package / "package.json").read_text())
        versions.append(f"{package} {manifest['version']}")
    return ", ".join(versions)


def neo4j_graphql_server(opts: Options, neo4j_uri: str, workdir: Path) -> ServerUnderTest:
    port = free_port()
    env = dict(os.environ)
    env["NODE_ENV"] = "production"
    cmd = [
        "taskset",
        "-c",
        str(opts.server_cpu),
        shutil.which("node") or "node",
        str(SERVER),
        "--neo4j",
        neo4j_uri,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
    ]
    return ServerUnderTest(
        NAME, cmd, env, port, workdir / f"{NAME}.log", "/graphql", queries=QUERIES
    )
