"""Settings: the only module that reads the environment.

Every setting has a default that gives the embedded stack: one SQLite file under ``data/``,
an in-process cache and AI mutations that answer "not configured".
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
# Seconds any one exchange with PostgreSQL, Neo4j or MongoDB may take at the driver (connect,
# a statement, a read from the socket): the bound on work a request has already given up on.
STORE_IO_TIMEOUT = 30.0
_ORIGIN_RE = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?\Z|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?\Z"
)


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
    # Domain events and subscriptions across replicas; unset: in-process (one process).
    rabbitmq_url: str | None = Field(default=None, validation_alias="RABBITMQ_URL")
    ws_max_subscriptions: int = Field(
        default=20, ge=1, validation_alias="PHILOS_WS_MAX_SUBSCRIPTIONS"
    )
    ws_max_per_user: int = Field(default=50, ge=1, validation_alias="PHILOS_WS_MAX_PER_USER")
    ws_queue_size: int = Field(default=100, ge=1, validation_alias="PHILOS_WS_QUEUE_SIZE")
    anthropic_api_key: str | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    neo4j_user: str | None = Field(default=None, validation_alias="NEO4J_USER")
    neo4j_password: str | None = Field(default=None, validation_alias="NEO4J_PASSWORD")
    mongodb_database: str = Field(
        default="philos_theses", validation_alias="PHILOS_MONGODB_DATABASE"
    )
    response_cache_ttl: float = Field(
        default=60.0, ge=0, validation_alias="PHILOS_RESPONSE_CACHE_TTL"
    )
    cache_ttl: float = Field(default=300.0, ge=0, validation_alias="PHILOS_CACHE_TTL")
    # The in-process cache's bound on the bytes it holds (without REDIS_URL): part of a
    # replica's memory once its answers fill it.
    memory_cache_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, validation_alias="PHILOS_MEMORY_CACHE_BYTES"
    )
    sql_compile: bool = Field(default=True, validation_alias="PHILOS_SQL_COMPILE")
    # Serve one service's Federation 2 subgraph instead of the whole schema (docs/federation.md).
    subgraph: Literal["users", "concepts", "graph", "theses", "ai"] | None = Field(
        default=None, validation_alias="PHILOS_SUBGRAPH"
    )

    jwt_secret: str | None = Field(default=None, validation_alias="JWT_SECRET")
    seed_on_start: bool = Field(default=True, validation_alias="PHILOS_SEED_ON_START")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, validation_alias="PHILOS_MAX_BODY_BYTES"
    )
    max_depth: int = Field(default=10, ge=1, validation_alias="PHILOS_MAX_DEPTH")
    max_aliases: int = Field(default=15, ge=0, validation_alias="PHILOS_MAX_ALIASES")
    max_tokens: int = Field(default=2000, ge=10, validation_alias="PHILOS_MAX_TOKENS")
    max_cost: int = Field(default=100_000, ge=1, validation_alias="PHILOS_MAX_COST")
    max_batch: int = Field(default=0, ge=0, le=10, validation_alias="PHILOS_MAX_BATCH")
    # Per request: store calls (0: no limit) and bytes of the answer.
    max_store_calls: int = Field(default=200, ge=0, validation_alias="PHILOS_MAX_STORE_CALLS")
    max_response_bytes: int = Field(
        default=2_097_152, ge=1024, validation_alias="PHILOS_MAX_RESPONSE_BYTES"
    )
    # Persisted documents (gateway/persisted.py): APQ entries' lifetime (0: APQ stores
    # nothing) and largest text, the trusted-document manifest, and trusted documents only.
    persisted_ttl: float = Field(default=86_400.0, ge=0, validation_alias="PHILOS_PERSISTED_TTL")
    persisted_max_bytes: int = Field(
        default=65_536, ge=1, validation_alias="PHILOS_PERSISTED_MAX_BYTES"
    )
    persisted_manifest: Path | None = Field(
        default=None, validation_alias="PHILOS_PERSISTED_MANIFEST"
    )
    persisted_only: bool = Field(default=False, validation_alias="PHILOS_PERSISTED_ONLY")
    rate_limit_ip: int = Field(default=600, ge=0, validation_alias="PHILOS_RATE_LIMIT_IP")
    rate_limit_user: int = Field(default=1200, ge=0, validation_alias="PHILOS_RATE_LIMIT_USER")
    rate_limit_window: float = Field(default=60.0, gt=0, validation_alias="PHILOS_RATE_WINDOW")
    store_timeout: float = Field(default=2.0, gt=0, validation_alias="PHILOS_STORE_TIMEOUT")
    request_timeout: float = Field(default=10.0, gt=0, validation_alias="PHILOS_REQUEST_TIMEOUT")
    store_io_timeout: float = Field(
        default=STORE_IO_TIMEOUT, gt=0, validation_alias="PHILOS_STORE_IO_TIMEOUT"
    )
    breaker_threshold: int = Field(default=5, ge=1, validation_alias="PHILOS_BREAKER_THRESHOLD")
    breaker_reset: float = Field(default=15.0, gt=0, validation_alias="PHILOS_BREAKER_RESET")
    # The longest an outbox entry waits before its next try (back-off doubles up to this).
    outbox_max_delay: float = Field(default=5.0, gt=0, validation_alias="PHILOS_OUTBOX_MAX_DELAY")
    graphiql: bool | None = Field(default=None, validation_alias="PHILOS_GRAPHIQL")
    # Browser origins allowed to call the API (CORS), comma-separated; none by default.
    cors_origins: str = Field(default="", validation_alias="PHILOS_CORS_ORIGINS")
    # Seconds a client may take to send a request's headers (``philos serve``) and its body.
    header_timeout: float = Field(default=10.0, gt=0, validation_alias="PHILOS_HEADER_TIMEOUT")
    body_timeout: float = Field(default=15.0, gt=0, validation_alias="PHILOS_BODY_TIMEOUT")

    # Accounts: see resolvers/throttle.py and passwords.py.
    first_user_admin: bool | None = Field(default=None, validation_alias="PHILOS_FIRST_USER_ADMIN")
    password_min_score: int = Field(
        default=3, ge=0, le=4, validation_alias="PHILOS_PASSWORD_MIN_SCORE"
    )
    login_account_failures: int = Field(
        default=10, ge=0, validation_alias="PHILOS_LOGIN_ACCOUNT_FAILURES"
    )
    login_client_failures: int = Field(
        default=50, ge=0, validation_alias="PHILOS_LOGIN_CLIENT_FAILURES"
    )
    login_window: float = Field(default=900.0, gt=0, validation_alias="PHILOS_LOGIN_WINDOW")
    login_backoff: float = Field(default=1.0, ge=0, validation_alias="PHILOS_LOGIN_BACKOFF")
    login_lockout: float = Field(default=900.0, gt=0, validation_alias="PHILOS_LOGIN_LOCKOUT")
    register_limit: int = Field(default=20, ge=0, validation_alias="PHILOS_REGISTER_LIMIT")
    register_window: float = Field(default=3600.0, gt=0, validation_alias="PHILOS_REGISTER_WINDOW")
    # Read by `philos create-admin` only; never a command-line argument (shell history).
    admin_password: SecretStr | None = Field(default=None, validation_alias="PHILOS_ADMIN_PASSWORD")
    log_level: str = Field(default="INFO", validation_alias="PHILOS_LOG_LEVEL")

    # AI mutations (Claude). Off unless ANTHROPIC_API_KEY is set; see docs/ai.md.
    anthropic_base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    ai_model: str = Field(default="claude-sonnet-5-5", validation_alias="PHILOS_AI_MODEL")
    ai_timeout: float = Field(default=60.0, gt=0, validation_alias="PHILOS_AI_TIMEOUT")
    ai_max_retries: int = Field(default=1, ge=0, le=3, validation_alias="PHILOS_AI_MAX_RETRIES")
    ai_max_output_tokens: int = Field(
        default=4096, ge=256, le=16_384, validation_alias="PHILOS_AI_MAX_OUTPUT_TOKENS"
    )
    ai_quota: int = Field(default=30, ge=0, validation_alias="PHILOS_AI_QUOTA")
    ai_quota_window: int = Field(default=3600, ge=1, validation_alias="PHILOS_AI_QUOTA_WINDOW")
    ai_max_concurrency: int = Field(default=4, ge=1, validation_alias="PHILOS_AI_MAX_CONCURRENCY")
    # A RUNNING in-process job whose runner sent no heartbeat for this long is taken over.
    ai_job_lease: float = Field(default=30.0, gt=0, validation_alias="PHILOS_AI_JOB_LEASE")
    ai_queue_timeout: float = Field(default=10.0, ge=0, validation_alias="PHILOS_AI_QUEUE_TIMEOUT")
    ai_cache_ttl: float = Field(default=86_400.0, ge=0, validation_alias="PHILOS_AI_CACHE_TTL")

    @property
    def sql_url(self) -> str:
        """The SQLAlchemy URL of the core SQL store (concepts and users)."""
        if self.database_url:
            return normalise_sql_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'philos.db'}"

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            if not _ORIGIN_RE.match(origin):
                raise ValueError(
                    f"PHILOS_CORS_ORIGINS: {origin!r} is not an origin; list each one exactly as "
                    "a browser sends it, scheme://host[:port] with no path (no wildcard)"
                )
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def first_account_becomes_admin(self) -> bool:
        """On by default, off in production, where `philos create-admin` makes the first ADMIN
        and a stranger who registers first on a fresh deployment gets nothing."""
        if self.first_user_admin is not None:
            return self.first_user_admin
        return self.env != "production"

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
