"""What every AI mutation goes through, in this order:

1. ``ensure_ai_editor`` — who may use AI features (EDITOR and above);
2. ``AiSession`` — is a model configured at all (else ``AiNotConfigured``);
3. ``AiSession.idempotent`` — an ``idempotencyKey`` seen before returns the first result
   without a second model call (a key reused with other arguments is a ``ConflictError``);
4. ``AiSession.ask`` — a validated answer from the result cache (key: model, prompt version
   and the exact prompt), or else: take one unit of the caller's quota, call the model
   (through the per-process concurrency cap), check the answer against what we offered,
   cache it;
5. the mutation writes its records only once it holds a usable answer, so a failure writes
   nothing; the ledger (``ai_calls``) gets one row per model call that produced records.

In a background job (``philos/ai/jobs.py``) the answer is kept on the job before anything is
written, and every record's id is derived from the job's id (``AiSession.new_id``): a job run
again after its worker died reuses the answer (no second call, no second unit of quota) and
its writes skip the records already there, so the job's records exist once.

Metrics are counted here (``philos/ai/metrics.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel

from philos import domain
from philos.ai.metrics import AI_CALLS, AI_DURATION, AI_REUSED, AI_TOKENS
from philos.ai.prompts import PROMPT_VERSION, Prompt
from philos.ai.quotas import QuotaExceeded, take_quota
from philos.datasources.llm import LLM
from philos.datasources.ports import LlmFailed, LlmRateLimited, TokenUsage
from philos.domain.ai import AiCallRecord
from philos.errors import (
    AiNotConfigured as AiNotConfigured,
)
from philos.resolvers.permissions import require_editor
from philos.types.context import Context

logger = logging.getLogger("philos.ai")
ai_log = structlog.stdlib.get_logger("philos.ai")

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")

IDEMPOTENCY_TTL_SECONDS = 24 * 3600.0
MAX_IDEMPOTENCY_KEY = 100

NOT_CONFIGURED = (
    "AI features are not enabled on this server. To enable them, set ANTHROPIC_API_KEY "
    "(optionally PHILOS_AI_MODEL) in the server's environment and restart it."
)


@dataclass(frozen=True, slots=True)
class CallInfo:
    """How an AI result came about. ``cached``: reused from the result cache, no model call
    (tokens 0). ``replayed``: the first result of the same ``idempotencyKey``, as it was."""

    model: str
    prompt_version: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    replayed: bool = False


def ensure_ai_editor(ctx: Context) -> None:
    """The one check of who may run AI mutations (they spend money and write drafts): the
    EDITOR role or above. Raises ``ForbiddenError``."""
    require_editor(ctx.principal, "use AI features")


def caller_of(ctx: Context) -> str:
    """Whom quotas and idempotency keys belong to: the signed-in user, else the client's IP."""
    if ctx.principal.user_id:
        return f"user:{ctx.principal.user_id}"
    return f"ip:{ctx.client_ip}"


def caller_user_id(ctx: Context) -> str | None:
    return ctx.principal.user_id


def _digest(*parts: object) -> str:
    raw = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


_key_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


class AiSession:
    """One AI mutation request: its model, its caller, and the shared steps above."""

    def __init__(self, ctx: Context, mutation: str) -> None:
        ensure_ai_editor(ctx)
        llm = ctx.stores.llm
        if llm is None:
            AI_CALLS.labels(mutation, "unavailable").inc()
            raise AiNotConfigured(NOT_CONFIGURED)
        self.ctx = ctx
        self.mutation = mutation
        self.llm: LLM = llm
        self.settings = ctx.settings
        self.cache = ctx.stores.cache
        self.caller = caller_of(ctx)
        self.job_id = ctx.job_id

    def new_id(self, label: str) -> str:
        """The id of the record ``label`` names (``"thesis:0"``, ``"ledger"``…): a fresh one,
        or in a job one derived from the job's id, the same on every run of the job."""
        if self.job_id is None:
            return domain.new_id()
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"philos:ai-job:{self.job_id}:{label}"))

    def max_tokens(self, budget: int) -> int:
        """The output budget of one call: what the task needs, never above the configured cap."""
        return min(budget, self.settings.ai_max_output_tokens)

    def info(self, **changes: Any) -> CallInfo:
        return replace(CallInfo(model=self.llm.model, prompt_version=PROMPT_VERSION), **changes)

    def ledger_record(self, subject_id: str, produced: list[str], info: CallInfo) -> AiCallRecord:
        return AiCallRecord(
            id=self.new_id("ledger"),
            mutation=self.mutation,
            model=info.model,
            prompt_version=info.prompt_version,
            input_tokens=info.input_tokens,
            output_tokens=info.output_tokens,
            caller=self.caller,
            subject_id=subject_id,
            produced_ids=tuple(produced),
        )

    # Idempotency ----------------------------------------------------------------------------

    @staticmethod
    def check_key(key: str | None) -> str | None:
        if key is None:
            return None
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise domain.ValidationError(
                [
                    domain.FieldProblem(
                        "idempotencyKey",
                        f"must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters, "
                        "e.g. a UUID made by the client.",
                    )
                ]
            )
        return key

    async def idempotent(
        self,
        key: str | None,
        arguments: dict[str, Any],
        run: Callable[[], Awaitable[R]],
        save: Callable[[R], dict[str, Any]],
        load: Callable[[dict[str, Any]], Awaitable[R]],
    ) -> R:
        """Run once per ``key``: later requests with the key get the first result back."""
        if key is None:
            return await run()
        slot = f"ai-idempotency:{self.mutation}:{_digest(self.caller, key)}"
        fingerprint = _digest(arguments)
        lock = _key_locks.get(slot)
        if lock is None:
            lock = _key_locks[slot] = asyncio.Lock()
        async with lock:  # the same key twice at once: the second waits for the first
            found = (await self.cache.get_many([slot])).get(slot)
            if found is not None:
                stored = json.loads(found)
                if stored["fingerprint"] != fingerprint:
                    raise domain.ConflictError(
                        "This idempotencyKey was already used with different arguments; "
                        "send a new key for a new request."
                    )
                AI_REUSED.labels(self.mutation, "idempotency").inc()
                result: dict[str, Any] = stored["result"]
                return await load(result)
            outcome = await run()
            record = {"fingerprint": fingerprint, "result": save(outcome)}
            await self.cache.set_many({slot: json.dumps(record).encode()}, IDEMPOTENCY_TTL_SECONDS)
            return outcome

    @staticmethod
    def dump_info(info: CallInfo) -> dict[str, Any]:
        return asdict(info)

    @staticmethod
    def load_info(data: dict[str, Any]) -> CallInfo:
        return replace(CallInfo(**data), replayed=True)

    # The model call -------------------------------------------------------------------------

    def _cache_key(self, prompt: Prompt[T]) -> str:
        return "ai-result:" + _digest(
            self.llm.model,
            PROMPT_VERSION,
            prompt.mutation,
            prompt.system,
            prompt.user,
            prompt.output.name,
            prompt.max_tokens,
        )

    async def ask(
        self, prompt: Prompt[T], check: Callable[[T], None] | None = None
    ) -> tuple[T, CallInfo]:
        """A validated answer to ``prompt``: in a job run again, the one the job kept; else
        from the cache or the model (in a job, kept on it before the caller writes anything).

        ``check`` validates the answer against the request (ids offered, stance asked for…)
        and raises ``ValueError`` when it does not hold; such an answer is a failure.
        """
        kept = await self._kept(prompt, check)
        if kept is not None:
            return kept
        value, info = await self._ask(prompt, check)
        if self.job_id is not None:
            jobs = self.ctx.stores.jobs
            assert jobs is not None  # a job runs only with a job store
            record = {"answer": json.loads(value.model_dump_json()), "call": asdict(info)}
            await jobs.keep_answer(self.job_id, record)
        return value, info

    async def _kept(
        self, prompt: Prompt[T], check: Callable[[T], None] | None
    ) -> tuple[T, CallInfo] | None:
        """The answer an earlier run of this job kept, when it still parses and holds."""
        jobs = self.ctx.stores.jobs
        if self.job_id is None or jobs is None:
            return None
        job = await jobs.get(self.job_id)
        if job is None or job.answer is None:
            return None
        try:
            value = prompt.output.parse(job.answer["answer"])
            if check is not None:
                check(value)
            info = CallInfo(**job.answer["call"])
        except (ValueError, KeyError, TypeError):  # kept by an older release: ask again
            logger.info("ignoring an unusable kept answer of AI job %s", self.job_id)
            return None
        AI_REUSED.labels(self.mutation, "job").inc()
        return value, info

    async def _ask(
        self, prompt: Prompt[T], check: Callable[[T], None] | None
    ) -> tuple[T, CallInfo]:
        ttl = self.settings.ai_cache_ttl
        key = self._cache_key(prompt)
        if ttl > 0:
            hit = (await self.cache.get_many([key])).get(key)
            if hit is not None:
                try:
                    value = prompt.output.parse(json.loads(hit))
                    if check is not None:
                        check(value)
                except ValueError:  # e.g. written by an older release: ask again
                    logger.info("ignoring an unusable cached answer for %s", self.mutation)
                else:
                    AI_REUSED.labels(self.mutation, "cache").inc()
                    return value, self.info(cached=True)
        try:
            await take_quota(
                self.cache, self.caller, self.settings.ai_quota, self.settings.ai_quota_window
            )
        except QuotaExceeded:
            AI_CALLS.labels(self.mutation, "quota").inc()
            raise
        answer = await self._call(prompt, check)
        if ttl > 0:
            await self.cache.set_many({key: answer[0].model_dump_json().encode()}, ttl)
        return answer

    async def _call(
        self, prompt: Prompt[T], check: Callable[[T], None] | None
    ) -> tuple[T, CallInfo]:
        started = time.perf_counter()
        usage = TokenUsage()
        outcome = "failed"
        try:
            answer = await self.llm.complete(
                system=prompt.system,
                user=prompt.user,
                output=prompt.output,
                max_tokens=prompt.max_tokens,
            )
            usage = answer.usage
            if check is not None:
                try:
                    check(answer.output)
                except ValueError as exc:
                    raise LlmFailed(
                        "invalid_output", f"Claude's answer was not usable: {exc}", usage
                    ) from exc
            outcome = "ok"
        except LlmRateLimited as exc:
            outcome = "rate_limited"
            usage = exc.usage
            logger.warning("%s: rate limited (retry after %s s)", self.mutation, exc.retry_after)
            raise
        except LlmFailed as exc:
            usage = exc.usage
            logger.warning("%s: model call failed (%s): %s", self.mutation, exc.reason, exc)
            raise
        finally:
            AI_DURATION.labels(self.mutation).observe(time.perf_counter() - started)
            AI_CALLS.labels(self.mutation, outcome).inc()
            AI_TOKENS.labels(self.mutation, "input").inc(usage.input_tokens)
            AI_TOKENS.labels(self.mutation, "output").inc(usage.output_tokens)
            ai_log.info(
                "ai.call",
                ai_mutation=self.mutation,
                ai_outcome=outcome,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        info = CallInfo(
            model=answer.model or self.llm.model,
            prompt_version=PROMPT_VERSION,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
        )
        return answer.output, info
