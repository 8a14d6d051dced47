"""Persisted documents: Apollo's automatic persisted queries (APQ) and trusted documents.

A client that sends the same operations again and again can send a hash instead of the text:

- APQ: ``extensions.persistedQuery = {"version": 1, "sha256Hash": …}``. Without a ``query`` the
  stored text runs, or the answer is ``PersistedQueryNotFound`` and the client sends the text
  with the hash; that text is stored under its hash once it has passed every limit (depth,
  aliases, tokens, cost, input sizes: the same checks as any request), so a document that fails
  a limit is never stored. Storing happens on POST only: GET stays free of side effects.
  Documents live in the cache port (Redis when configured, shared by replicas), with a TTL.
- Trusted documents: ``documentId`` (GraphQL-over-HTTP, persisted documents) names a document
  of the manifest file built with the explorer. ``PHILOS_PERSISTED_ONLY`` accepts nothing else,
  so a production deployment runs only the operations its clients were built with.

Failures are GraphQL-shaped answers with an ``extensions.code``, never a crash of the view.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response
from strawberry.http import GraphQLRequestData

from philos.config import Settings
from philos.datasources.ports import Cache
from philos.errors import StoreUnavailableError

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the message Apollo clients look for
KEY_PREFIX = "pq:"
_HEX = re.compile(r"^[0-9a-f]{64}\Z")


class PersistedError(Exception):
    """A persisted-document request the server refuses, with its HTTP status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return JSONResponse(body, status_code=self.status)


@dataclass
class PersistedRequestData(GraphQLRequestData):
    """A request as Strawberry reads it, plus the ``documentId`` it does not know about."""

    document_id: object = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """What to run, and the hash to store it under once it has passed the limits (or None)."""

    query: str | None
    register: str | None = None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_id(value: str) -> str:
    """``sha256:<hex>`` and plain hex name the same document; other ids are kept as written."""
    lowered = value.strip().lower()
    bare = lowered.removeprefix("sha256:")
    return bare if _HEX.match(bare) else value


def load_manifest(path: Path | None) -> dict[str, str]:
    """id → document from a JSON map (``{"sha256:…": "query …"}``, as graphql-codegen's
    ``persistedDocuments`` writes it) or an Apollo persisted-query manifest
    (``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}``)."""
    if path is None:
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    pairs: list[tuple[Any, Any]]
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        pairs = [(op.get("id"), op.get("body")) for op in raw.get("operations", [])]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ValueError(f"{path}: a persisted manifest is a JSON object")
    documents: dict[str, str] = {}
    for key, body in pairs:
        if not isinstance(key, str) or not isinstance(body, str):
            raise ValueError(f"{path}: every entry needs a string id and a string document")
        documents[normalize_id(key)] = body
        documents.setdefault(sha256(body), body)  # an APQ hash of the same text finds it too
    return documents


class PersistedDocuments:
    """Resolves a request's persisted-document fields to the text it runs."""

    def __init__(self, settings: Settings) -> None:
        self.ttl = settings.persisted_ttl
        self.max_bytes = settings.persisted_max_bytes
        self.only = settings.persisted_only
        self.manifest = load_manifest(settings.persisted_manifest)
        if self.only and not self.manifest:
            raise ValueError("PHILOS_PERSISTED_ONLY needs a PHILOS_PERSISTED_MANIFEST to serve")
        self.trusted_texts = frozenset(self.manifest.values())

    async def resolve(self, cache: Cache, data: GraphQLRequestData, method: str) -> Resolved:
        document_id = data.document_id if isinstance(data, PersistedRequestData) else None
        if document_id is not None:
            return self._trusted(document_id, data.query)
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.only and data.query not in self.trusted_texts:
                raise _not_in_list()
            return Resolved(data.query)
        digest = _apq_hash(persisted)
        if data.query is not None and sha256(data.query) != digest:
            raise PersistedError(
                400,
                "PERSISTED_QUERY_HASH_MISMATCH",
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query's text.",
            )
        known = self.manifest.get(digest)
        if known is not None:
            return Resolved(known)
        if self.only:
            raise _not_in_list()
        if data.query is None:
            stored = await _get(cache, digest)
            if stored is None:
                raise PersistedError(200, NOT_FOUND, NOT_FOUND_MESSAGE)
            return Resolved(stored)
        storable = method == "POST" and self.ttl > 0 and len(data.query.encode()) <= self.max_bytes
        return Resolved(data.query, digest if storable else None)

    def _trusted(self, document_id: object, query: str | None) -> Resolved:
        if not isinstance(document_id, str) or not document_id.strip():
            raise PersistedError(
                400, "BAD_REQUEST", "The request's `documentId` must be a non-empty string."
            )
        if query is not None:
            raise PersistedError(
                400, "BAD_REQUEST", "Send either `query` or `documentId`, not both."
            )
        document = self.manifest.get(normalize_id(document_id))
        if document is None:
            raise PersistedError(
                400,
                "PERSISTED_DOCUMENT_NOT_FOUND",
                f"No trusted document has the id {document_id[:80]!r}.",
            )
        return Resolved(document)

    async def register(self, cache: Cache, digest: str, query: str) -> None:
        """Stores a document that has passed the limits; a cache outage only means the
        client sends the text again next time."""
        try:
            await cache.set_many({KEY_PREFIX + digest: query.encode()}, self.ttl)
        except StoreUnavailableError:
            return


def _apq_hash(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedError(
            400,
            "PERSISTED_QUERY_VERSION_UNSUPPORTED",
            "extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}.",
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HEX.match(digest.lower()):
        raise PersistedError(
            400,
            "BAD_REQUEST",
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits.",
        )
    return digest.lower()


async def _get(cache: Cache, digest: str) -> str | None:
    try:
        found = await cache.get_many([KEY_PREFIX + digest])
    except StoreUnavailableError:
        return None  # answered as a miss: the client sends the text
    value = found.get(KEY_PREFIX + digest)
    return value.decode() if value is not None else None


def _not_in_list() -> PersistedError:
    return PersistedError(
        400,
        "PERSISTED_QUERY_NOT_IN_LIST",
        "This server runs trusted documents only: send a `documentId` from the persisted "
        "manifest (PHILOS_PERSISTED_ONLY).",
    )


async def with_document_ids(
    request: Any, data: GraphQLRequestData | list[GraphQLRequestData], decode: Any
) -> GraphQLRequestData | list[GraphQLRequestData]:
    """Strawberry reads ``query``, ``variables``, ``operationName`` and ``extensions``; a
    request without ``query`` may name a trusted document by ``documentId`` instead (query
    string on GET, body on POST), which this carries along. Requests with a query (nearly
    all) are returned as they are, without decoding the body again."""
    items = data if isinstance(data, list) else [data]
    if all(item.query is not None for item in items):
        return data
    if request.method == "GET":
        raw: Any = dict(request.query_params)
    else:
        raw = decode(await request.get_body())
    raws = raw if isinstance(raw, list) else [raw]
    carried: list[GraphQLRequestData] = [
        PersistedRequestData(
            query=item.query,
            variables=item.variables,
            operation_name=item.operation_name,
            extensions=item.extensions,
            protocol=item.protocol,
            document_id=source.get("documentId") if isinstance(source, dict) else None,
        )
        for item, source in zip(items, raws, strict=False)
    ]
    return carried if isinstance(data, list) else carried[0]
