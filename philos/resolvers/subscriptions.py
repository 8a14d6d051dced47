"""Subscription resolvers: the domain events this process receives, filtered for one
subscriber, each with its record read afresh through the normal loaders.

A change is pushed with its kind and the record's new version; the record itself is read
after the event arrived (so it may already be newer than the event's version, never older:
an older copy, say from a cache another process has not yet dropped, is read again). A DRAFT
thesis is pushed only to those who may edit theses; a reader hears nothing of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from graphql import GraphQLError

from philos import domain
from philos.datasources.events import SlowConsumer
from philos.datasources.loaders import build_loaders
from philos.datasources.resilience import CallBudget, request_calls, request_deadline
from philos.domain.events import DomainEvent
from philos.resolvers.permissions import _RANK
from philos.types.context import Context


class SubscriptionClosed(GraphQLError):
    """The server ended the subscription (the client read too slowly, or its token expired):
    an answer for the client, not an unexpected error to mask."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "SUBSCRIPTION_CLOSED"})


@dataclass(frozen=True)
class Change:
    event: DomainEvent
    concept: domain.Concept | None = None
    thesis: domain.Thesis | None = None
    relation: domain.Relation | None = None


def may_see_drafts(principal: domain.Principal) -> bool:
    return principal.signed_in and _RANK[principal.role] >= _RANK[domain.Role.EDITOR]


async def _events(
    ctx: Context, accepts: Callable[[DomainEvent], bool]
) -> AsyncIterator[DomainEvent]:
    hub = ctx.stores.events
    if hub is None:
        raise SubscriptionClosed("Subscriptions are not available on this server.")
    try:
        async with asyncio.timeout_at(_deadline(ctx.expires_at)):
            async for event in hub.events(accepts):
                # Each event is a request of its own: fresh loaders (the connection lives
                # long, its records must not), a fresh deadline and store-call budget.
                ctx.loaders = build_loaders(ctx.stores)
                request_deadline.set(time.monotonic() + ctx.settings.request_timeout)
                request_calls.set(CallBudget(ctx.settings.max_store_calls))
                yield event
    except SlowConsumer as exc:
        raise SubscriptionClosed(
            "The subscription was closed: its events were not read fast enough."
        ) from exc
    except TimeoutError as exc:
        raise SubscriptionClosed(
            "The access token has expired; subscribe again with a new one."
        ) from exc


def _deadline(expires_at: float | None) -> float | None:
    """The event loop's time at which a token expiring at ``expires_at`` (epoch) expires."""
    if expires_at is None:
        return None
    return asyncio.get_running_loop().time() + max(0.0, expires_at - time.time())


# An aiJobProgress subscriber reads the job again when told of a change, and also after this
# long without word: an event committed before its listener was registered is not missed.
JOB_RECHECK_SECONDS = 5.0
# Without an event hub (a store bag built by hand) the job is read this often instead.
JOB_POLL_SECONDS = 0.2


async def job_updates(ctx: Context, job_id: str) -> AsyncIterator[None]:
    """Wakes the caller to read job ``job_id``: at once, then on each ``job.updated`` event for
    it (from any replica, through the bus), and at least every ``JOB_RECHECK_SECONDS``."""
    if ctx.stores.events is None:
        while True:
            yield
            await asyncio.sleep(JOB_POLL_SECONDS)
    changed = asyncio.Event()

    async def listen() -> None:
        async for _ in _events(ctx, lambda e: e.entity == "job" and e.record_id == job_id):
            changed.set()

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)  # let it register with the hub before the first read
    try:
        while True:
            yield
            waiter = asyncio.create_task(changed.wait())
            await asyncio.wait(
                {listener, waiter}, timeout=JOB_RECHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            changed.clear()
            if listener.done():
                listener.result()  # the token expired or the client was too slow: say so
                return
    finally:
        listener.cancel()


async def concept_changes(ctx: Context, concept_id: str | None) -> AsyncIterator[Change]:
    def accepts(event: DomainEvent) -> bool:
        return event.entity == "concept" and (concept_id is None or event.record_id == concept_id)

    async for event in _events(ctx, accepts):
        concept = None
        if event.action != "deleted":
            concept = await ctx.loaders.concept.load(event.record_id)
            if concept is not None and event.version and concept.version < event.version:
                fresh = await ctx.stores.concepts.get_many([event.record_id])
                concept = fresh.get(event.record_id, concept)
        yield Change(event, concept=concept)


async def thesis_changes(ctx: Context, concept_id: str) -> AsyncIterator[Change]:
    drafts = may_see_drafts(ctx.principal)

    def accepts(event: DomainEvent) -> bool:
        return event.entity == "thesis" and concept_id in event.concept_ids

    async for event in _events(ctx, accepts):
        thesis = None
        if event.action != "deleted":
            thesis = await ctx.loaders.thesis.load(event.record_id)
            if thesis is not None and event.version and thesis.version < event.version:
                fresh = await ctx.stores.theses.get_many([event.record_id])
                thesis = fresh.get(event.record_id, thesis)
            if thesis is None:
                continue  # deleted again meanwhile: its own event follows
            if thesis.status is domain.ThesisStatus.DRAFT and not drafts:
                continue
        yield Change(event, thesis=thesis)


async def relation_changes(ctx: Context, concept_id: str) -> AsyncIterator[Change]:
    def accepts(event: DomainEvent) -> bool:
        return event.entity == "relation" and concept_id in event.concept_ids

    async for event in _events(ctx, accepts):
        relation = None
        if event.action != "deleted":
            edges = await ctx.stores.graph.edges_of([concept_id], domain.Direction.BOTH)
            relation = next((r for r in edges.get(concept_id, []) if r.id == event.record_id), None)
        yield Change(event, relation=relation)
