"""The settings every suite opens the app with, and the backends the suites run on."""

from __future__ import annotations

from pathlib import Path

from philos.config import Settings

SQL_BACKENDS = ["sqlite", "postgres"]
# The GraphQL API suite (tests/api) also runs once on the full production wiring.
PRODUCTION_BACKENDS = [*SQL_BACKENDS, "production"]
# The throwaway servers the production wiring talks to.
PRODUCTION_SERVERS = ("postgres", "neo4j", "mongo", "redis")


JWT_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-abcdefghij"


def settings_for(url: str, data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "DATABASE_URL": url,
        "PHILOS_DATA_DIR": data_dir,
        "PHILOS_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]
