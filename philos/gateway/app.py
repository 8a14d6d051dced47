"""The Starlette application: ``/graphql`` (+ GraphiQL), the explorer at ``/app``, ``/health``,
``/ready``, ``/metrics``."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute

from philos.config import Settings, get_settings
from philos.datasources.stores import Stores
from philos.gateway.answers import CachedAnswers
from philos.gateway.callers import http_error
from philos.gateway.explorer import Bundle, app_root
from philos.gateway.graphql import PhilosGraphQL
from philos.gateway.middleware import (
    BodyLimit,
    Cors,
    DeadlineScope,
    RequestGuard,
    RequestId,
    SecurityHeaders,
    scope_request_id,
)
from philos.gateway.serving import on_shutdown
from philos.gateway.state import AppState
from philos.metrics import REGISTRY
from philos.timeouts import within
from philos.tokens import Tokens, load_secret

logger = logging.getLogger("philos")
READY_TIMEOUT_SECONDS = 2.0
CORE_STORES = ("concepts", "users")


# Opens the stores at start-up (the composition root's ``open_stores``).
StoreOpener = Callable[[Settings], Awaitable[Stores]]


def create_app(
    settings: Settings | None = None,
    stores: Stores | None = None,
    *,
    open_stores: StoreOpener | None = None,
) -> Starlette:
    """Build the app around ``stores`` (already open: tests share theirs), or around the
    stores ``open_stores`` opens at start-up and that are closed at shutdown."""
    settings = settings or get_settings()
    if stores is None and open_stores is None:
        raise ValueError("create_app needs the stores or a way to open them")
    state = AppState(stores)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = state.stores is None
        if owned:
            assert open_stores is not None
            state.stores = await open_stores(settings)
            # Everything built so far lives as long as the process: move it out of the
            # collector's sight, so full collections stay short under load.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if owned and state.stores is not None:
                await state.stores.aclose()

    bundle = Bundle()
    graphql = PhilosGraphQL(settings, state, Tokens(load_secret(settings)), bundle)
    # ``philos serve`` drains subscriptions before uvicorn closes the connections.
    on_shutdown(graphql.drain)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> Response:
        """Ready while the core SQL store answers. A separate graph or thesis store that is
        down is reported (its fields answer null with an error) but keeps no pod out of
        rotation: restarting the API would not bring Neo4j or MongoDB back."""
        stores = state.stores
        if stores is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        checks: dict[str, str] = {}
        for role, store in stores.by_role().items():
            try:
                await within(store.ping(), READY_TIMEOUT_SECONDS)
                checks[role] = "ok"
            except Exception as exc:  # any failure means unavailable; say which store
                logger.warning("readiness check failed for %s: %r", role, exc)
                checks[role] = "unavailable"
        core_ok = all(checks[role] == "ok" for role in CORE_STORES)
        status = "ready" if all(v == "ok" for v in checks.values()) else "degraded"
        return JSONResponse(
            {"status": status if core_ok else "unavailable", "stores": checks},
            status_code=200 if core_ok else 503,
        )

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def root(_request: Request) -> Response:
        return RedirectResponse("/graphql")

    origins = settings.cors_origin_list
    cors = [Middleware(Cors, origins=origins)] if origins else []

    return Starlette(
        routes=[
            Route("/", root),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/app", app_root, methods=["GET"]),
            Route("/app/{path:path}", bundle.app, methods=["GET"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
        ],
        middleware=[
            # Outermost: a repeated query the response cache holds is answered here, with the
            # headers the layers below gave it the first time (gateway/answers.py).
            Middleware(
                CachedAnswers,
                settings=settings,
                state=state,
                callers=graphql.callers,
                index=graphql.answers,
            ),
            # Security headers on every other answer, and the last-resort JSON 500.
            Middleware(SecurityHeaders),
            Middleware(DeadlineScope),  # around everything that may set a request deadline
            *cors,
            # Before anything reads a body: the content coding and the body deadline.
            Middleware(RequestGuard, body_timeout=settings.body_timeout),
            Middleware(RequestId),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        exception_handlers={HTTPException: http_exception, Exception: unhandled},
        lifespan=lifespan,
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    """Routing's 404 and 405 as GraphQL-shaped JSON, like every other error."""
    assert isinstance(exc, HTTPException)
    return http_error(exc.status_code, exc.detail)


async def unhandled(request: Request, exc: Exception) -> Response:
    """Starlette's own last resort (only reached if ``SecurityHeaders`` itself failed)."""
    request_id = scope_request_id(request.scope)
    return http_error(500, f"Unexpected error. Quote request id {request_id} when reporting it.")
