"""AI mutations as background jobs: ``background: true`` answers ``AiJobQueued`` at once and
the work runs here, through the very code path of the synchronous form (the same
``AiSession``: permission, configuration, idempotency key, result cache, quota, "no write on
failure"), with the creator's identity.

A job's record lives in SQL (``ai_jobs``): QUEUED → RUNNING → SUCCEEDED | FAILED, with the
ids of what it produced or a typed failure. Jobs run in this process, at most
``PHILOS_AI_MAX_CONCURRENCY`` at once; a job is started only while it is unfinished, so a
job handed over twice runs once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from philos import domain
from philos.ai.service import AiSession
from philos.datasources.loaders import build_loaders
from philos.datasources.ports import AiJobStore
from philos.datasources.resilience import request_calls, request_deadline
from philos.domain.ai import AiJob, AiJobStatus
from philos.resolvers.permissions import _RANK
from philos.types.context import Context

logger = logging.getLogger("philos.ai")

# Runs the mutation for ``ctx`` with the job's arguments: ``(True, result)`` on success,
# ``(False, {"code": <failure type>, "message": …})`` on an expected failure.
Runner = Callable[[Context, dict[str, Any]], Awaitable[tuple[bool, dict[str, Any]]]]

_tasks: set[asyncio.Task[None]] = set()
_limits: dict[int, asyncio.Semaphore] = {}


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
    worker_ctx = dataclasses.replace(ctx, loaders=build_loaders(ctx.stores), searches={})
    task = asyncio.get_running_loop().create_task(
        run_job(worker_ctx, job.id, runner), name=f"ai-job-{job.id}"
    )
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return job


async def run_job(ctx: Context, job_id: str, runner: Runner) -> None:
    """Run one job once: RUNNING, then SUCCEEDED or FAILED with what the mutation answered."""
    # The job is not the request's: no request deadline, no per-request store-call budget.
    request_deadline.set(None)
    request_calls.set(None)
    limit = ctx.settings.ai_max_concurrency
    gate = _limits.setdefault(limit, asyncio.Semaphore(limit))
    store = _store(ctx)
    async with gate:
        job = await store.start(job_id)
        if job is None:
            return  # finished already (or gone)
        try:
            ok, outcome = await runner(ctx, job.arguments)
        except Exception as exc:  # an unexpected error: the job fails, typed, and is logged
            logger.exception("AI job %s failed", job_id)
            ok, outcome = False, {"code": "AiFailed", "message": f"The job failed: {exc}"}
        if ok:
            await store.finish(job_id, AiJobStatus.SUCCEEDED, outcome, None)
        else:
            await store.finish(job_id, AiJobStatus.FAILED, None, outcome)


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
