"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from philos.config import Settings
from philos.datasources.loaders import Loaders
from philos.datasources.stores import Stores
from philos.domain import ANONYMOUS, Principal
from philos.tokens import Tokens


@dataclass
class Context:
    request: Any
    response: Any
    settings: Settings
    stores: Stores
    loaders: Loaders
    request_id: str
    tokens: Tokens
    principal: Principal = ANONYMOUS
    # A WebSocket's ``connection_init`` payload; when the caller's token expires (seconds
    # since the epoch): a subscription ends then.
    connection_params: Any = None
    expires_at: float | None = None
    # The response path of each concept list read with a search -> that search: its nodes
    # answer ``Concept.searchHighlight`` (types/objects.py).
    searches: dict[tuple[str | int, ...], str] = field(default_factory=dict)
    # A list field's place in the document -> the attributes its selection reads
    # (``types/projection.py``), worked out once per request.
    selections: dict[Any, Any] = field(default_factory=dict)
    # The AI job this context runs (``philos/ai/jobs.py``); None for a request.
    job_id: str | None = None

    @property
    def client_ip(self) -> str:
        client = getattr(self.request, "client", None)
        return client.host if client else "unknown"
