"""AI mutations as background jobs: ``background: true`` answers ``AiJobQueued`` at once and
the work runs here, through the very code path of the synchronous form (the same
``AiSession``: permission, configuration, idempotency key, result cache, quota, "no write on
failure"), with the creator's identity.

A job's record lives in SQL (``ai_jobs``): QUEUED → RUNNING → SUCCEEDED | FAILED, with the
ids of what it produced or a typed failure. Jobs run in this process, at most
``PHILOS_AI_MAX_CONCURRENCY`` at once; a job is started only while it is unfinished, so a
job handed over twice runs once. A running job renews a lease (``updated_at``, every third
of ``PHILOS_AI_JOB_LEASE``); ``resume`` takes over, at start and then once per lease, the
unfinished jobs whose lease ran out, so a job survives the process that queued it.
A job run again after its runner died keeps its first run's model answer and record ids
(``AiSession``), so what it writes exists once.
With ``RABBITMQ_URL`` the job goes to RabbitMQ's quorum queue
``philos.ai.jobs`` instead, and ``philos worker`` runs it (``run_delivered``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from philos import domain
from philos.ai.service import AiSession
from philos.config import Settings
from philos.datasources.loaders import build_loaders
from philos.datasources.ports import AiJobStore
from philos.datasources.resilience import request_calls, request_deadline
from philos.datasources.stores import Stores
from philos.domain import utcnow
from philos.domain.ai import FINISHED, AiJob, AiJobStatus
from philos.resolvers.permissions import _RANK
from philos.tokens import Tokens
from philos.types.context import Context

logger = logging.getLogger("philos.ai")

# Runs the mutation for ``ctx`` with the job's arguments: ``(True, result)`` on success,
# ``(False, {"code": <failure type>, "message": …})`` on an expected failure.
Runner = Callable[[Context, dict[str, Any]], Awaitable[tuple[bool, dict[str, Any]]]]

_tasks: set[asyncio.Task[None]] = set()
_limits: dict[int, asyncio.Semaphore] = {}
_local: set[str] = set()  # jobs this process holds (waiting or running): never taken over here


def _store(ctx: Context) -> AiJobStore:
    if ctx.stores.jobs is None:
        raise domain.StoreUnavailableError("sql", "no job store")
    return ctx.stores.jobs


async def enqueue(ctx: Context, mutation: str, arguments: dict[str, Any], runner: Runner) -> AiJob:
    """Record a QUEUED job and start it in the background. The checks that need no model
    call come first, as in the synchronous form (EDITOR role, AI configured)."""
    AiSession(ctx, mutation)
    assert ctx.principal.user_id is not None  # an EDITOR is signed in
    job = await _store(ctx).add(
        AiJob(
            id=domain.new_id(),
            mutation=mutation,
            creator_id=ctx.principal.user_id,
            arguments=arguments,
        )
    )
    if ctx.stores.job_queue is not None:  # RabbitMQ: a `philos worker` runs it
        await ctx.stores.job_queue.submit(job.id)
        return job
    worker_ctx = dataclasses.replace(
        ctx, loaders=build_loaders(ctx.stores), searches={}, job_id=job.id
    )
    _spawn(run_job(worker_ctx, job.id, runner, leased=True), job.id)
    return job


def _spawn(work: Awaitable[None], job_id: str) -> None:
    async def hold() -> None:
        _local.add(job_id)
        try:
            await work
        finally:
            _local.discard(job_id)

    task = asyncio.get_running_loop().create_task(hold(), name=f"ai-job-{job_id}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _beat(store: AiJobStore, job_id: str, every: float) -> None:
    """Renew the job's lease while it runs, so no other process takes it over."""
    while True:
        await asyncio.sleep(every)
        try:
            await store.heartbeat(job_id)
        except Exception as exc:  # a missed beat: the next one may succeed
            logger.warning("AI job %s heartbeat failed: %r", job_id, exc)


async def run_job(ctx: Context, job_id: str, runner: Runner, leased: bool = False) -> None:
    """Run one job once: RUNNING, then SUCCEEDED or FAILED with what the mutation answered.
    ``leased``: no broker hands the job to a single worker, so it is claimed by lease (a
    RUNNING job only once its runner's heartbeat stopped)."""
    # The job is not the request's: no request deadline, no per-request store-call budget.
    request_deadline.set(None)
    request_calls.set(None)
    limit = ctx.settings.ai_max_concurrency
    gate = _limits.setdefault(limit, asyncio.Semaphore(limit))
    store = _store(ctx)
    lease = ctx.settings.ai_job_lease
    async with gate:
        stale_before = utcnow() - timedelta(seconds=lease) if leased else None
        job = await store.start(job_id, stale_before)
        if job is None:
            return  # finished already (or gone, or another process holds it)
        beat = asyncio.create_task(_beat(store, job_id, lease / 3), name=f"ai-job-beat-{job_id}")
        try:
            ok, outcome = await runner(ctx, job.arguments)
        except Exception as exc:  # an unexpected error: the job fails, typed, and is logged
            logger.exception("AI job %s failed", job_id)
            ok, outcome = False, {"code": "AiFailed", "message": f"The job failed: {exc}"}
        finally:
            beat.cancel()
        if ok:
            await store.finish(job_id, AiJobStatus.SUCCEEDED, outcome, None)
        else:
            await store.finish(job_id, AiJobStatus.FAILED, None, outcome)


async def run_delivered(
    stores: Stores,
    settings: Settings,
    tokens: Tokens,
    job_id: str,
    runners: dict[str, Runner],
    leased: bool = False,
) -> None:
    """A job a worker took off the queue (or this process took over), run as its creator
    (with the role they hold now). A job already finished (a redelivery after the worker that
    ran it died) is not run again."""
    store = stores.jobs
    job = await store.get(job_id) if store is not None else None
    if job is None or job.status in FINISHED:
        return
    user = (await stores.users.get_many([job.creator_id])).get(job.creator_id)
    principal = domain.Principal(job.creator_id, user.role if user else domain.Role.READER)
    ctx = Context(
        request=None,
        response=None,
        settings=settings,
        stores=stores,
        loaders=build_loaders(stores),
        request_id=f"job-{job_id}",
        tokens=tokens,
        principal=principal,
        job_id=job_id,
    )
    await run_job(ctx, job_id, runners[job.mutation], leased)


async def resume(
    stores: Stores, settings: Settings, tokens: Tokens, runners: dict[str, Runner]
) -> None:
    """Without a broker, jobs live only in the API processes: at start, and then once per
    lease, take over the unfinished jobs nobody holds (QUEUED by a process that stopped,
    RUNNING with a lapsed heartbeat) and run each to its end, once (the claim is atomic)."""
    store = stores.jobs
    if store is None:
        return
    lease = settings.ai_job_lease
    first = True
    while True:
        # At start every unfinished job of a stopped process is stale at once: a job QUEUED
        # by a live replica a moment ago is not (it is younger than the lease).
        before = utcnow() - timedelta(seconds=lease)
        try:
            found = await store.stale(before)
        except Exception as exc:  # the database is away: try again next round
            logger.warning("AI job sweep failed: %r", exc)
            found = []
        for job_id in found:
            if job_id not in _local:
                logger.info("AI job %s taken over%s", job_id, " at start" if first else "")
                _spawn(
                    run_delivered(stores, settings, tokens, job_id, runners, leased=True), job_id
                )
        first = False
        await asyncio.sleep(lease)


async def drain() -> None:
    """Wait for the jobs running in this process (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


async def read_job(ctx: Context, job_id: str) -> AiJob:
    """The job, for its creator or an ADMIN; anyone else learns nothing (``NotFoundError``)."""
    job = await _store(ctx).get(job_id)
    principal = ctx.principal
    if job is None or not (
        principal.user_id == job.creator_id
        or (principal.signed_in and _RANK[principal.role] >= _RANK[domain.Role.ADMIN])
    ):
        raise domain.NotFoundError("AiJob", job_id)
    return job
