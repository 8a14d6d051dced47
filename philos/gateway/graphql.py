"""The ``/graphql`` endpoint: Strawberry's ASGI view with our context, limits and the
GraphQL-over-HTTP rules.

- A client that accepts ``application/graphql-response+json`` gets that media type, and a
  request that fails before execution (parse, validation, variable coercion, limits) gets 400
  with no ``data`` entry. Plain ``application/json`` clients get 200 as they always have.
- POST bodies must be JSON: form and text bodies are 415, so a cross-site form cannot run a
  mutation (CSRF). GET runs queries only; a mutation over GET is 405 with ``Allow: POST``.
- Every request counts against a per-IP and, when signed in, a per-user window (429 with
  ``Retry-After`` past it), in the shared cache when Redis is configured.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult

from philos.compile.extension import CompiledQueries
from philos.config import Settings
from philos.datasources.loaders import build_loaders
from philos.datasources.resilience import CallBudget, request_calls, request_deadline
from philos.gateway import bodies
from philos.gateway.answers import AnswerIndex, record_answer
from philos.gateway.callers import Callers, RateLimited, http_error, too_many_requests
from philos.gateway.errors import MaskUnexpectedErrors, is_unexpected, masked
from philos.gateway.input_limits import ListLimits
from philos.gateway.metrics import OperationMetrics
from philos.gateway.middleware import bind_request, page_csp
from philos.gateway.query_limits import CostLimit, ResponseSizeLimit, limit_rules
from philos.gateway.response_cache import ResponseCache
from philos.gateway.schema_names import HideSchemaNames
from philos.gateway.state import AppState
from philos.gateway.text_input import RejectUnstorableText
from philos.schema.federation import build_subgraph_schema
from philos.schema.root import build_schema
from philos.tokens import Tokens
from philos.types.context import Context

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_TYPES = ("application/json", GRAPHQL_RESPONSE)


def make_schema(settings: Settings) -> Any:
    production = settings.env == "production"
    extensions: list[Any] = [
        # Factories: the caches themselves live at module level, shared by all requests.
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: limit_rules(settings.max_depth, settings.max_aliases),
        lambda: CostLimit(settings.max_cost),
        RejectUnstorableText,
        ListLimits,
        lambda: ResponseCache(settings.response_cache_ttl, settings.subgraph or ""),
        lambda: ResponseSizeLimit(settings.max_response_bytes),
        CompiledQueries,
        OperationMetrics,
        MaskUnexpectedErrors,
    ]
    if production:
        extensions.append(DisableIntrospection)
        extensions.append(HideSchemaNames)
    config = StrawberryConfig(
        disable_field_suggestions=production,
        batching_config={"max_operations": settings.max_batch} if settings.max_batch else None,
    )
    if settings.subgraph:
        schema = build_subgraph_schema(settings.subgraph, extensions=extensions, config=config)
    else:
        schema = build_schema(extensions=extensions, config=config)

    def process_errors(
        errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None  # expected errors are answers, not log lines; see errors.py

    schema.process_errors = process_errors  # type: ignore[method-assign]
    return schema


def wants_graphql_response(request: Request | WebSocket) -> bool:
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


def is_request_error(result: ExecutionResult) -> bool:
    """Failed before execution: no data, and no error tied to a field path."""
    return (
        result.data is None and bool(result.errors) and all(not e.path for e in result.errors or ())
    )


class PhilosGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings, state: AppState, tokens: Tokens) -> None:
        super().__init__(
            make_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.state = state
        self.tokens = tokens
        self.callers = Callers(settings, tokens)
        # Raw requests the response cache answered, for ``answers.CachedAnswers``.
        self.answers = AnswerIndex()

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        stores = self.state.stores
        assert stores is not None  # requests are served only after start-up
        principal = self.callers.principal_for(request.headers.get("authorization"))
        request_id = bind_request(request.scope, principal)
        client = request.client.host if request.client else "unknown"
        await self.callers.count(stores.cache, client, principal)
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            stores=stores,
            loaders=build_loaders(stores),
            request_id=request_id,
            tokens=self.tokens,
            principal=principal,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        response = await super().render_graphql_ide(request)
        # GraphiQL loads its scripts and styles from unpkg.com (pinned, with integrity hashes).
        response.headers["content-security-policy"] = page_csp(response.body, "https://unpkg.com")
        return response

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            # An error message quoting text that is not valid Unicode (a lone surrogate the
            # client sent): JSON's \u escapes can still carry it back.
            return json.dumps(data, ensure_ascii=True, default=str).encode()

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry decodes POST bodies (bytes) and the ``variables``/``extensions``
        query-string values (str) through here: any failure is the client's 400."""
        value = bodies.decode_json(data)
        if isinstance(data, bytes):
            bodies.check_body(value, batching=bool(self.settings.max_batch))
        return value

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        if result.errors and any(is_unexpected(e) for e in result.errors):
            # An extension hook that raised: masked and logged like a resolver's error.
            request_id = request.scope.get("state", {}).get("request_id", "") or "unknown"
            result.errors = [
                masked(e, request_id) if is_unexpected(e) else e for e in result.errors
            ]
        body = await super().process_result(request, result)
        if wants_graphql_response(request) and is_request_error(result):
            body.pop("data", None)
            request.state.request_error = True
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        # Store calls made for this request share one deadline (see datasources/resilience).
        request_deadline.set(time.monotonic() + self.settings.request_timeout)
        request_calls.set(CallBudget(self.settings.max_store_calls))
        response = self._reject_media_type(request)
        if response is None:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = http_error(exc.status_code, exc.reason)
            except RateLimited as exc:
                response = too_many_requests(exc.retry_after)
            else:
                self._negotiate(request, response)
                record_answer(self.answers, scope, response)
        await response(scope, receive, send)

    @staticmethod
    def _reject_media_type(request: Request) -> Response | None:
        if request.method != "POST":
            return None
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in JSON_TYPES:
            return None
        return http_error(415, "Send the request body as JSON (`Content-Type: application/json`).")

    @staticmethod
    def _negotiate(request: Request, response: Response) -> None:
        if not wants_graphql_response(request):
            return
        if response.headers.get("content-type", "").startswith("application/json"):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if getattr(request.state, "request_error", False) and response.status_code == 200:
                response.status_code = 400
