"""Every module under ``philos/`` is imported by some test, or is listed here with the reason
it is not: a module only the running app reaches is easy to leave untested by accident."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import philos

TESTS = Path(__file__).resolve().parents[1]

# Modules no test imports, each reachable only through something that is tested.
ALLOWED_UNIMPORTED: frozenset[str] = frozenset(
    {
        # `python -m philos`: a two-line entry point around philos.cli.main (test_cli.py).
        "philos.__main__",
        # The AI use cases: each needs a Context with live stores and a model client, so
        # tests/ai drives them through the API (the real anthropic SDK against a local
        # Messages-API stand-in), in the foreground and as background jobs (test_jobs.py).
        "philos.ai.metrics",
        "philos.ai.analysis",
        "philos.ai.common",
        "philos.ai.generation",
        "philos.ai.suggestions",
        "philos.ai.synthesis",
        # Parts of the SQL compiler, reached through philos.compile (tests/compile, tests/api).
        "philos.compile.columns",
        "philos.compile.objects",
        # Holds SQL rows while Neo4j/MongoDB write: needs both servers, so only the composition
        # root builds it (tests/security/test_integrity.py runs it through the API).
        "philos.datasources.anchored",
        # Query text and document codec of the Neo4j and MongoDB stores: only those stores use
        # them (tests/contract/test_neo4j_specific.py, test_mongo_specific.py).
        "philos.datasources.mongo_documents",
        "philos.datasources.neo4j_queries",
        # Alembic's package, environment script and revisions: loaded by Alembic from their
        # directory when test_migrations.py upgrades a database, never imported.
        # (every module under philos.datasources.sql.migrations: see MIGRATIONS)
        # The ASGI app's assembly: routes, lifespan, server start, process-wide logging and
        # metrics. Built by philos.bootstrap.create_app, which tests/api and tests/http drive.
        "philos.gateway.app",
        "philos.gateway.state",
        # Account resolvers: every function needs a Context with live stores, tokens and the
        # sign-in throttle (tests/api/test_auth.py, tests/security/test_accounts.py).
        "philos.resolvers.users",
        # A schema part merged by philos.schema.root.build_schema, which many tests build
        # (test_schema_file.py compares the whole SDL).
        "philos.schema.auth",
    }
)


def product_modules() -> set[str]:
    found = {"philos"}
    for info in pkgutil.walk_packages(philos.__path__, prefix="philos."):
        found.add(info.name)
    return found


def imported_by(source: Path) -> set[str]:
    """The philos modules a test file imports: ``import philos.x``, ``from philos.x import y``
    (y counts too when it is a module) and ``from philos import x``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n == "philos" or n.startswith("philos.")}


def covered(modules: set[str]) -> set[str]:
    """What the imported names cover: a module imported, and each package on the way to it
    (importing ``philos.a.b`` runs ``philos/a/__init__.py``)."""
    imported: set[str] = set()
    for source in sorted(TESTS.rglob("*.py")):
        if "node_modules" in source.parts or any(p.startswith(".venv") for p in source.parts):
            continue
        imported |= imported_by(source)
    out: set[str] = set()
    for name in imported:
        parts = name.split(".")
        out.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return out & modules


MIGRATIONS = "philos.datasources.sql.migrations"


def test_every_module_is_imported_by_a_test_or_allowed() -> None:
    modules = product_modules()
    unimported = {m for m in modules - covered(modules) if not m.startswith(MIGRATIONS)}
    assert sorted(unimported) == sorted(ALLOWED_UNIMPORTED)


def test_the_scan_sees_the_imports_it_should() -> None:
    """The scanner itself: a module imported here is covered, its packages too."""
    here = imported_by(Path(__file__))
    assert "philos" in here
    modules = product_modules()
    assert {"philos.types.paging", "philos.gateway.documents", "philos.types"} <= covered(modules)
    assert "philos.datasources.sql.migrations.env" in modules
