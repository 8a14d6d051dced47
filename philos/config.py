"""Settings: the only module that reads the environment.

Every setting has a default that gives the embedded stack: one SQLite file under ``data/``,
an in-process cache and AI mutations that answer "not configured".
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    env: Literal["development", "production", "test"] = Field(
        default="development", validation_alias="PHILOS_ENV"
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, validation_alias="PHILOS_DATA_DIR")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    neo4j_uri: str | None = Field(default=None, validation_alias="NEO4J_URI")
    mongodb_uri: str | None = Field(default=None, validation_alias="MONGODB_URI")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    anthropic_api_key: str | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    neo4j_user: str | None = Field(default=None, validation_alias="NEO4J_USER")
    neo4j_password: str | None = Field(default=None, validation_alias="NEO4J_PASSWORD")
    mongodb_database: str = Field(
        default="philos_theses", validation_alias="PHILOS_MONGODB_DATABASE"
    )
    cache_ttl: float = Field(default=300.0, ge=0, validation_alias="PHILOS_CACHE_TTL")

    seed_on_start: bool = Field(default=True, validation_alias="PHILOS_SEED_ON_START")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, validation_alias="PHILOS_MAX_BODY_BYTES"
    )
    graphiql: bool | None = Field(default=None, validation_alias="PHILOS_GRAPHIQL")
    log_level: str = Field(default="INFO", validation_alias="PHILOS_LOG_LEVEL")

    @property
    def sql_url(self) -> str:
        """The SQLAlchemy URL of the core SQL store (concepts and users)."""
        if self.database_url:
            return normalise_sql_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'philos.db'}"

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.env != "production"


def normalise_sql_url(url: str) -> str:
    """Accept the URL forms operators paste and pick the async driver for each."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
