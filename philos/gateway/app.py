"""The Starlette application: ``/graphql`` (+ GraphiQL), ``/health``, ``/ready``, ``/metrics``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from philos.config import Settings, get_settings
from philos.datasources.wiring import Stores, build_stores
from philos.domain import ANONYMOUS, AuthError
from philos.gateway.auth import Tokens, load_secret
from philos.gateway.errors import MaskUnexpectedErrors
from philos.gateway.metrics import REGISTRY, OperationMetrics
from philos.gateway.middleware import BodyLimit, RequestId
from philos.resolvers.loaders import build_loaders
from philos.schema.context import Context
from philos.schema.root import build_schema

logger = logging.getLogger("philos")
READY_TIMEOUT_SECONDS = 2.0


def make_schema() -> Any:
    schema = build_schema(
        extensions=[
            # Factories: the caches themselves live at module level, shared by all requests.
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            OperationMetrics,
            MaskUnexpectedErrors,
        ]
    )

    def process_errors(
        errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None

    schema.process_errors = process_errors  # type: ignore[method-assign]
    return schema


class PhilosGraphQL(GraphQL[Context, None]):
    def __init__(
        self, schema: Any, settings: Settings, state: dict[str, Any], tokens: Tokens
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
        )
        self.settings = settings
        self.state = state
        self.tokens = tokens

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        stores: Stores = self.state["stores"]
        principal = ANONYMOUS
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HTTPException(
                    401, "Send the access token as `Authorization: Bearer <token>`."
                )
            try:
                principal = self.tokens.principal(token.strip())
            except AuthError as exc:
                raise HTTPException(401, exc.message) from exc
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            stores=stores,
            loaders=build_loaders(stores),
            request_id=request.scope.get("state", {}).get("request_id", ""),
            tokens=self.tokens,
            principal=principal,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            response = http_error(exc.status_code, exc.reason)
        await response(scope, receive, send)


def http_error(status: int, reason: str) -> Response:
    """Transport-level failures as GraphQL-shaped JSON. A mutation sent over GET is 405 with
    ``Allow: POST`` (GraphQL-over-HTTP), not a generic 400."""
    headers: dict[str, str] = {}
    if status == 400 and "mutations are not allowed" in reason.lower():
        status, reason = 405, "Mutations must be sent with POST, not GET."
        headers["Allow"] = "POST"
    elif status == 405:
        headers["Allow"] = "GET, POST"
    elif status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'

    return JSONResponse({"errors": [{"message": reason}]}, status_code=status, headers=headers)


def create_app(settings: Settings | None = None, stores: Stores | None = None) -> Starlette:
    """Build the app. Pass ``stores`` to share already-open stores (tests do); otherwise they
    are opened at start-up from ``settings`` and closed at shutdown."""
    settings = settings or get_settings()
    state: dict[str, Any] = {"stores": stores}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = state["stores"] is None
        if owned:
            state["stores"] = await build_stores(settings)
            if settings.seed_on_start:
                from philos.seed.loader import seed_if_empty

                await seed_if_empty(state["stores"])
            state["stores"].start_background()
        try:
            yield
        finally:
            if owned:
                await state["stores"].aclose()

    graphql = PhilosGraphQL(make_schema(), settings, state, Tokens(load_secret(settings)))

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> Response:
        stores: Stores | None = state["stores"]
        if stores is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks: dict[str, str] = {}
        for role, store in stores.by_role().items():
            try:
                await asyncio.wait_for(store.ping(), READY_TIMEOUT_SECONDS)
                checks[role] = "ok"
            except Exception as exc:  # any failure means not ready; say which store
                logger.warning("readiness check failed for %s: %r", role, exc)
                checks[role] = "unavailable"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "unavailable", "stores": checks},
            status_code=200 if ok else 503,
        )

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def root(_request: Request) -> Response:
        return RedirectResponse("/graphql")

    return Starlette(
        routes=[
            Route("/", root),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
        ],
        middleware=[
            Middleware(RequestId),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
