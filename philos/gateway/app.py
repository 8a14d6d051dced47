"""The Starlette application: ``/graphql`` (+ GraphiQL), ``/health``, ``/ready``, ``/metrics``."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from philos.config import Settings, get_settings
from philos.datasources.wiring import Stores, build_stores
from philos.gateway.answers import CachedAnswers
from philos.gateway.auth import Tokens, load_secret
from philos.gateway.graphql import PhilosGraphQL, http_error
from philos.gateway.metrics import REGISTRY
from philos.gateway.middleware import (
    BodyLimit,
    Cors,
    DeadlineScope,
    RequestGuard,
    RequestId,
    SecurityHeaders,
    scope_request_id,
)
from philos.timeouts import within

logger = logging.getLogger("philos")
READY_TIMEOUT_SECONDS = 2.0
CORE_STORES = ("concepts", "users")


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
                from philos.seed.loader import seed_missing

                await seed_missing(state["stores"])
            state["stores"].start_background()
            # Everything built so far lives as long as the process: move it out of the
            # collector's sight, so full collections stay short under load.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if owned:
                await state["stores"].aclose()

    graphql = PhilosGraphQL(settings, state, Tokens(load_secret(settings)))

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> Response:
        """Ready while the core SQL store answers. A separate graph or thesis store that is
        down is reported (its fields answer null with an error) but keeps no pod out of
        rotation: restarting the API would not bring Neo4j or MongoDB back."""
        stores: Stores | None = state["stores"]
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
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics),
        ],
        middleware=[
            # Outermost: security headers on every answer, and the last-resort JSON 500.
            Middleware(SecurityHeaders),
            Middleware(DeadlineScope),  # around everything that may set a request deadline
            *cors,
            # Before anything reads a body: the content coding and the body deadline.
            Middleware(RequestGuard, body_timeout=settings.body_timeout),
            # A repeated query the response cache holds is answered before routing.
            Middleware(CachedAnswers, view=graphql),
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


def serve_app() -> Starlette:
    """The factory ``philos serve`` runs: JSON logs first, then the app. (Configured here, in
    the serving process, so ``--reload`` workers log the same way.)"""
    from philos.gateway.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
