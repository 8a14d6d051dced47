"""Structured JSON logs, one object per line, for people and for Logstash.

Every line has ``timestamp`` (UTC, ISO 8601), ``level``, ``logger`` and ``event``; lines written
while a request is handled also carry ``request_id`` and, once known, ``user_id``. Each GraphQL
operation ends with one ``graphql.operation`` line: ``operation``, ``outcome``, ``duration_ms``.
Standard-library loggers (uvicorn's included) go through the same formatter.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

_configured = False


def _dumps(obj: Any, **_kwargs: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    global _configured
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    _configured = True


def is_configured() -> bool:
    """Whether ``configure_logging`` ran (log lines then go through the stdlib's levels)."""
    return _configured


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
