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

import asyncio
import contextlib
import json
import time
from datetime import timedelta
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.http import GraphQLRequestData
from strawberry.schema.config import StrawberryConfig
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from philos.compile.extension import CompiledQueries
from philos.config import Settings
from philos.datasources.loaders import build_loaders
from philos.datasources.resilience import CallBudget, request_calls, request_deadline
from philos.gateway import bodies
from philos.gateway.answers import LIMITED, AnswerIndex, note_answer
from philos.gateway.callers import Callers, RateLimited, http_error, too_many_requests
from philos.gateway.errors import MaskUnexpectedErrors, is_unexpected, masked
from philos.gateway.explorer import Bundle
from philos.gateway.input_limits import ListLimits
from philos.gateway.metrics import OperationMetrics
from philos.gateway.middleware import bind_request
from philos.gateway.persisted import PersistedDocuments, PersistedError, with_document_ids
from philos.gateway.query_limits import CostLimit, ResponseSizeLimit, limit_rules
from philos.gateway.response_cache import ResponseCache
from philos.gateway.schema_names import HideSchemaNames
from philos.gateway.state import AppState
from philos.gateway.subscriptions import (
    STREAM_TRANSPORTS,
    LfSSETransport,
    Rejected,
    Sockets,
    TextWebSocketAdapter,
)
from philos.gateway.text_input import RejectUnstorableText
from philos.gateway.trivial import TypenameAnswers
from philos.gateway.validation import DocumentValidation
from philos.schema.federation import build_subgraph_schema
from philos.schema.root import build_schema
from philos.tokens import Tokens
from philos.types.context import Context

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON_TYPES = ("application/json", GRAPHQL_RESPONSE)
DRAIN_SECONDS = 5.0  # at shutdown, how long subscriptions may take to send what they hold


def make_schema(settings: Settings) -> Any:
    production = settings.env == "production"
    extensions: list[Any] = [
        # Factories: the caches themselves live at module level, shared by all requests.
        lambda: ParserCache(maxsize=512),
        lambda: DocumentValidation(512, settings.max_depth, settings.max_aliases),
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
    stream_transport_classes_by_protocol = STREAM_TRANSPORTS  # SSE framed with LF
    websocket_adapter_class = TextWebSocketAdapter

    def __init__(
        self, settings: Settings, state: AppState, tokens: Tokens, bundle: Bundle | None = None
    ) -> None:
        super().__init__(
            make_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
        )
        self.sockets = Sockets(tokens, settings.ws_max_per_user)
        self.settings = settings
        self.state = state
        self.tokens = tokens
        self.bundle = bundle or Bundle()
        self.callers = Callers(settings, tokens)
        self.persisted = PersistedDocuments(settings)
        # Raw requests the response cache answered, for ``answers.CachedAnswers``.
        self.answers = AnswerIndex()
        # ``{ __typename }`` and the like, answered without the operation pipeline.
        schema: Any = self.schema
        self.typename_answers: TypenameAnswers | None = TypenameAnswers(settings, schema._schema)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        stores = self.state.stores
        assert stores is not None  # requests are served only after start-up
        principal = self.callers.principal_for(request.headers.get("authorization"))
        request_id = bind_request(request.scope, principal)
        client = request.client.host if request.client else "unknown"
        await self.callers.count(stores.cache, client, principal)
        expires_at = None
        # An event stream ends when its token expires (verified just now; checked again only
        # for streams, so plain requests keep the verified-token cache's speed).
        if principal.signed_in and "text/event-stream" in request.headers.get("accept", ""):
            token = (request.headers.get("authorization") or "").partition(" ")[2].strip()
            expires_at = self.tokens.principal_until(token)[1]
        return Context(
            expires_at=expires_at,
            request=request,
            response=response,
            settings=self.settings,
            stores=stores,
            loaders=build_loaders(stores),
            request_id=request_id,
            tokens=self.tokens,
            principal=principal,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """``connection_init``: its token (if any) names the caller; a bad one is 4403."""
        params = context.connection_params
        try:
            principal, expires = self.sockets.admit(
                context.request, params if isinstance(params, dict) else {}
            )
        except Rejected as exc:
            raise ConnectionRejectionError({"message": exc.reason}) from exc
        context.principal = principal
        context.expires_at = expires
        return cast(UnsetType, UNSET)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """A query or mutation is answered as JSON even when its ``Accept`` lists
        ``text/event-stream`` beside JSON: only a subscription becomes an event stream."""
        data = await super().parse_http_body(request)
        data = await with_document_ids(request, data, self.parse_json)
        if (
            isinstance(data, GraphQLRequestData)
            and data.protocol == LfSSETransport.protocol
            and not _is_subscription(data)
        ):
            data.protocol = "http"
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        fast = self.typename_answers
        if fast is not None and request_adapter.method in ("GET", "POST"):
            answer = await fast.answer(request_data, context)
            if answer is not None:
                return answer
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        """Persisted documents (persisted.py) become their text before anything runs; an APQ
        text is stored only after its request got past every limit."""
        items = request_data if isinstance(request_data, list) else [request_data]
        pending: list[tuple[int, str, str]] = []
        for index, item in enumerate(items):
            resolved = await self.persisted.resolve(context.stores.cache, item, request.method)
            item.query = resolved.query
            if resolved.register is not None and resolved.query is not None:
                pending.append((index, resolved.register, resolved.query))
        result = await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )
        results = result if isinstance(result, list) else [result]
        for index, digest, query in pending:
            outcome = results[index] if index < len(results) else None
            if isinstance(outcome, ExecutionResult) and not is_request_error(outcome):
                await self.persisted.register(context.stores.cache, digest, query)
        return result

    async def drain(self) -> None:
        """Shutdown: end every subscription after what it holds, then close each socket
        with 1001 so its client reconnects elsewhere."""
        stores = self.state.stores
        hub = stores.events if stores is not None else None
        if hub is not None:
            hub.close_all()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub.emptied(), DRAIN_SECONDS)
        await asyncio.sleep(0.1)  # the last "complete" messages go out
        await self.sockets.close_all()

    def should_render_graphql_ide(self, request: Any) -> bool:
        """A GET naming a persisted document has no ``query`` but is an operation."""
        params = request.query_params
        return (
            super().should_render_graphql_ide(request)
            and params.get("extensions") is None
            and params.get("documentId") is None
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        # GraphiQL built from pinned npm packages into the web bundle: nothing from elsewhere.
        return await self.bundle.graphiql()

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
        if scope["type"] == "websocket":
            try:
                await super().__call__(scope, receive, send)
            finally:
                self.sockets.closed(scope)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        # Store calls made for this request share one deadline (see datasources/resilience).
        request_deadline.set(time.monotonic() + self.settings.request_timeout)
        request_calls.set(CallBudget(self.settings.max_store_calls))
        # A repeated request the raw-request index found over a rate limit (already counted).
        response = scope.get("state", {}).pop(LIMITED, None) or self._reject_media_type(request)
        if response is None:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = http_error(exc.status_code, exc.reason)
            except RateLimited as exc:
                response = too_many_requests(exc.retry_after)
            except PersistedError as exc:
                response = exc.response()
            else:
                self._negotiate(request, response)
                note_answer(scope, response)
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


def _is_subscription(data: GraphQLRequestData) -> bool:
    if not data.query:
        return False
    try:
        operation = get_operation_ast(parse(data.query), data.operation_name)
    except GraphQLError:
        return False  # answered (with the syntax error) as JSON
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION
