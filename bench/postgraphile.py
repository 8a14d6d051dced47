"""The peer, PostGraphile v4 (one Node process), installed into bench/node_modules."""

# It runs npm with arguments it builds.

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bench.common import BENCH, LOOPBACK, npm_ci
from bench.options import Options
from bench.targets import ServerUnderTest
from tests.services.servers import free_port

POSTGRAPHILE_CLI = BENCH / "node_modules" / "postgraphile" / "cli.js"


def ensure_postgraphile() -> str:
    """``npm ci`` in bench/ when node_modules is missing or older than the lock file."""
    npm_ci(BENCH, POSTGRAPHILE_CLI, "PostGraphile")
    manifest = json.loads((POSTGRAPHILE_CLI.parent / "package.json").read_text())
    return str(manifest["version"])


def postgraphile_server(opts: Options, database_url: str, workdir: Path) -> ServerUnderTest:
    port = free_port()
    env = dict(os.environ)
    env["NODE_ENV"] = "production"
    cmd = [
        "taskset",
        "-c",
        str(opts.server_cpu),
        shutil.which("node") or "node",
        str(POSTGRAPHILE_CLI),
        "--connection",
        database_url,
        "--schema",
        "public",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--simple-collections",
        "both",
        "--disable-query-log",
        "--disable-graphiql",
    ]
    return ServerUnderTest("postgraphile", cmd, env, port, workdir / "postgraphile.log", "/graphql")
