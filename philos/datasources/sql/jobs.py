"""AI jobs on SQL: a job's record from QUEUED to SUCCEEDED or FAILED.

With domain events on, each step (RUNNING, then SUCCEEDED or FAILED) records a ``job.updated``
event with the job's new version in its transaction: ``aiJobProgress`` subscribers on every
replica are told, instead of reading the record over and over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, or_, select, update

from philos.datasources.outbox import record_event
from philos.datasources.sql import SqlStore
from philos.datasources.sql.common import aware
from philos.datasources.sql.tables import ai_jobs_t
from philos.domain import utcnow
from philos.domain.ai import FINISHED, AiJob, AiJobStatus

j = ai_jobs_t.c


def job_from_row(row: Row[Any]) -> AiJob:
    m = row._mapping
    return AiJob(
        id=m["id"],
        mutation=m["mutation"],
        creator_id=m["creator_id"],
        arguments=dict(m["arguments"] or {}),
        status=AiJobStatus(m["status"]),
        result=m["result"],
        failure=m["failure"],
        answer=m["answer"],
        attempts=m["attempts"],
        version=m["version"],
        created_at=aware(m["created_at"]),
        updated_at=aware(m["updated_at"]),
    )


class SqlAiJobStore(SqlStore):
    async def add(self, job: AiJob) -> AiJob:
        async with self.db.begin() as conn:
            await conn.execute(
                insert(ai_jobs_t).values(
                    id=job.id,
                    mutation=job.mutation,
                    creator_id=job.creator_id,
                    arguments=job.arguments,
                    status=job.status.value,
                    result=None,
                    failure=None,
                    attempts=0,
                    version=1,
                    created_at=job.created_at,
                    updated_at=job.updated_at,
                )
            )
        return job

    async def get(self, job_id: str) -> AiJob | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(select(ai_jobs_t).where(j.id == job_id))).first()
            return job_from_row(row) if row is not None else None

    async def start(self, job_id: str, stale_before: datetime | None = None) -> AiJob | None:
        """Mark the job RUNNING (again, after a lost worker); None when it is finished or gone:
        a redelivered job that already finished is not run twice. With ``stale_before`` (no
        broker hands the job to one worker) a RUNNING job is taken over only once its lease
        ran out (no heartbeat since then), so two processes never run it at once."""
        unfinished = [s.value for s in AiJobStatus if s not in FINISHED]
        claim = [j.id == job_id, j.status.in_(unfinished)]
        if stale_before is not None:
            claim.append(or_(j.status == AiJobStatus.QUEUED.value, j.updated_at < stale_before))
        async with self.db.begin() as conn:
            done = await conn.execute(
                update(ai_jobs_t)
                .where(*claim)
                .values(
                    status=AiJobStatus.RUNNING.value,
                    attempts=j.attempts + 1,
                    version=j.version + 1,
                    updated_at=utcnow(),
                )
            )
            if done.rowcount == 0:
                return None
            row = (await conn.execute(select(ai_jobs_t).where(j.id == job_id))).first()
            if row is not None and self.events:
                await record_event(conn, "job.updated", job_id, version=row.version)
        self._evented()
        return job_from_row(row) if row is not None else None

    async def heartbeat(self, job_id: str) -> None:
        """The runner is alive: renew the lease of a RUNNING job."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(ai_jobs_t)
                .where(j.id == job_id, j.status == AiJobStatus.RUNNING.value)
                .values(updated_at=utcnow())
            )

    async def keep_answer(self, job_id: str, answer: dict[str, Any]) -> None:
        """Keep the model's answer on the RUNNING job, before it writes anything."""
        async with self.db.begin() as conn:
            await conn.execute(
                update(ai_jobs_t)
                .where(j.id == job_id, j.status == AiJobStatus.RUNNING.value)
                .values(answer=answer, updated_at=utcnow())
            )

    async def stale(self, before: datetime, limit: int = 100) -> list[str]:
        """Unfinished jobs nobody touched since ``before``: QUEUED ones whose process stopped
        before running them, RUNNING ones whose runner stopped renewing its lease."""
        unfinished = [s.value for s in AiJobStatus if s not in FINISHED]
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(j.id)
                .where(j.status.in_(unfinished), j.updated_at < before)
                .order_by(j.created_at)
                .limit(limit)
            )
            return [r.id for r in rows]

    async def finish(
        self,
        job_id: str,
        status: AiJobStatus,
        result: dict[str, Any] | None,
        failure: dict[str, Any] | None,
    ) -> None:
        async with self.db.begin() as conn:
            done = await conn.execute(
                update(ai_jobs_t)
                .where(j.id == job_id, j.status == AiJobStatus.RUNNING.value)
                .values(
                    status=status.value,
                    result=result,
                    failure=failure,
                    version=j.version + 1,
                    updated_at=utcnow(),
                )
            )
            if done.rowcount and self.events:
                version = (await conn.execute(select(j.version).where(j.id == job_id))).scalar_one()
                await record_event(conn, "job.updated", job_id, version=version)
        self._evented()
