"""Every store call goes through a guard: a timeout inside the request's deadline, one retry
with jitter for idempotent reads, a circuit breaker per store (purgatory), and metrics.

Expected outcomes (``PhilosError``: not found, conflict…) pass straight through and do not
count as failures. Of the rest (``failures.classify``), only an outage — the store cannot be
reached, broke the connection, ran out of resources or timed out — counts against the breaker
and reaches the caller as ``StoreUnavailableError`` naming the store; the GraphQL layer turns
that into a null field with an error carrying its path. A value the store refused is the
caller's ``InputRejectedError``; a call cut short by the request's own deadline, or one whose
time ran out while it still waited its turn in this process (the SQLite writer), is unavailable
for this request only; any other driver error is a bug, reported as unexpected. None of these
counts. A cache that fails is skipped instead: reads miss, writes are dropped, the request
goes on.

Each request also has a budget of store calls (``request_calls``): a query that would fan out
into more calls than that stops with ``BudgetExceededError`` instead of crowding out everyone
else's calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram
from purgatory import AsyncCircuitBreakerFactory, AsyncInMemoryUnitOfWork
from purgatory.domain.model import OpenedState

from philos.datasources.failures import Failure, classify
from philos.datasources.ports import ACCESS, LIFECYCLE
from philos.domain import (
    BudgetExceededError,
    InputRejectedError,
    PhilosError,
    StoreUnavailableError,
)
from philos.metrics import REGISTRY
from philos.timeouts import within

logger = logging.getLogger("philos.stores")
S = TypeVar("S")

STORE_CALLS = Histogram(
    "philos_store_call_duration_seconds",
    "Store call latency by store and method.",
    ["store", "method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "philos_store_errors",
    "Store calls that failed (timeouts, connection and driver errors) by store and method.",
    ["store", "method"],
    registry=REGISTRY,
)
STORE_REFUSALS = Counter(
    "philos_store_refused_inputs",
    "Store calls refused because of what the caller sent (not counted against the breaker).",
    ["store"],
    registry=REGISTRY,
)
BREAKER_STATE = Gauge(
    "philos_breaker_state",
    "Circuit breaker per store: 0 closed, 0.5 half-open, 1 open.",
    ["store"],
    registry=REGISTRY,
)
_STATE_VALUE = {"closed": 0.0, "half-opened": 0.5, "opened": 1.0}

# The monotonic time by which the current request must be answered, if any.
request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "philos_request_deadline", default=None
)


class CallBudget:
    """How many more store calls the current request may make."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit


# The end of the store call this one runs inside, if any, and the share of what that call has
# left which a nested call may take.
_enclosing_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "philos_enclosing_deadline", default=None
)
NESTED_SHARE = 0.75

# The current request's budget of store calls, if it has one (0 or less: no limit).
request_calls: contextvars.ContextVar[CallBudget | None] = contextvars.ContextVar(
    "philos_request_calls", default=None
)


def spend_call() -> None:
    """Count one store call against the request's budget; ``BudgetExceededError`` past it.

    A DataLoader makes one call per list level however many parents it serves, so ordinary
    queries use a handful; only a query that fans out per parent can run out."""
    budget = request_calls.get()
    if budget is None or budget.limit <= 0:
        return
    if budget.remaining <= 0:
        raise BudgetExceededError(budget.limit)
    budget.remaining -= 1


class Breakers:
    """One breaker per store name; state changes are mirrored in ``philos_breaker_state``."""

    def __init__(self, threshold: int, reset_seconds: float) -> None:
        # A cancelled call (graphql-core cancels sibling fields when a non-null one fails)
        # says nothing about the store's health.
        self._states = AsyncInMemoryUnitOfWork()
        self.factory = AsyncCircuitBreakerFactory(
            uow=self._states,
            default_threshold=threshold,
            default_ttl=reset_seconds,
            exclude=[PhilosError, asyncio.CancelledError],
        )
        self.factory.add_listener(self._on_event)

    @staticmethod
    def _on_event(name: str, event_type: str, event: Any) -> None:
        if event_type == "state_changed":
            BREAKER_STATE.labels(name).set(_STATE_VALUE.get(event.state, 0.0))
            logger.warning("circuit breaker for the %s store is now %s", name, event.state)
        elif event_type == "circuit_breaker_created":
            BREAKER_STATE.labels(name).set(0.0)

    async def state(self, name: str) -> str:
        breaker = await self.factory.get_breaker(name)
        return str(breaker.context.state)

    def close_all(self) -> None:
        """Forget every breaker's state: each starts closed again on its next call."""
        states: Any = self._states.contexts  # purgatory's in-memory repository
        states.breakers.clear()


def guarded(
    inner: S,
    port: type,
    store: str,
    breakers: Breakers,
    timeout: float,
    *,
    fail_open: bool = False,
    after_write: Callable[[], Awaitable[None]] | None = None,
) -> S:
    """``inner`` behind the guard, typed as the store it wraps. ``port`` says which of its
    methods read (retried once) and which write (``after_write`` runs after each)."""
    guard = Guarded(
        inner, port, store, breakers, timeout, fail_open=fail_open, after_write=after_write
    )
    return cast(S, guard)


class Guarded(Generic[S]):
    """A store behind the guard. Methods are wrapped; other attributes read through."""

    def __init__(
        self,
        inner: S,
        port: type,
        store: str,
        breakers: Breakers,
        timeout: float,
        *,
        fail_open: bool = False,
        after_write: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._inner = inner
        self.inner = inner  # the unguarded store, for tests and tools
        self._reads = ACCESS[port].reads
        self._store = store
        self._breakers = breakers
        self._timeout = timeout
        self._fail_open = fail_open
        self._after_write = after_write  # e.g. bump the data version the response cache checks
        # An in-process store's calls never wait (no I/O): they cannot time out, be cancelled
        # half-way or find a server down, so they run inline (``_call_in_process``).
        self._in_process = bool(getattr(inner, "in_process", False))
        self._timers: dict[str, Any] = {}
        self.name = getattr(inner, "name", store)

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self._inner, attr)
        if attr in LIFECYCLE or attr.startswith("_") or not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if attr in self._reads or self._after_write is None:
                return await self._call(attr, target, args, kwargs)
            try:
                return await self._call(attr, target, args, kwargs)
            finally:
                # Even a failed write may have changed something (a timeout after commit).
                await self._after_write()

        return call

    @staticmethod
    def _limit() -> float | None:
        """The latest a call may end however long this process stalls: the request's deadline
        (the enclosing call's end, for a call inside another), if any."""
        limits = [d for d in (request_deadline.get(), _enclosing_deadline.get()) if d is not None]
        return min(limits) if limits else None

    def _budget(self) -> tuple[float, bool]:
        """Seconds this call may take, and whether the request's own deadline is what limits
        it. A call made inside another store's call (a check inside a transaction) gets less
        than what its caller has left, so it is the inner store that times out first and is
        blamed, not the outer one waiting for it."""
        now = time.monotonic()
        budget = self._timeout
        enclosing = _enclosing_deadline.get()
        if enclosing is not None:
            budget = min(budget, (enclosing - now) * NESTED_SHARE)
        deadline = request_deadline.get()
        if deadline is not None and deadline - now < budget:
            return max(0.0, deadline - now), True
        return max(0.0, budget), False

    async def _call(
        self,
        method: str,
        target: Callable[..., Awaitable[Any]],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
    ) -> Any:
        if not self._fail_open:
            spend_call()
        timer = self._timers.get(method)
        if timer is None:
            timer = self._timers[method] = STORE_CALLS.labels(self._store, method)
        if self._in_process:
            return await self._call_in_process(method, target, args, kwargs, timer)
        attempts = 2 if method in self._reads else 1
        for attempt in range(attempts):
            budget, deadline_bound = self._budget()
            if budget <= 0:  # the request is out of time: nothing to learn about the store
                return self._unavailable(method, "the request's time ran out", None)
            started = time.perf_counter()
            try:
                breaker = await self._breakers.factory.get_breaker(self._store)
                async with breaker:
                    try:
                        limit = self._limit()
                        token = _enclosing_deadline.set(time.monotonic() + budget)
                        try:  # the task below copies the context, and with it this deadline
                            return await within(target(*args, **kwargs), budget, until=limit)
                        finally:
                            _enclosing_deadline.reset(token)
                    except PhilosError:
                        raise
                    except Exception as exc:
                        # Raised inside the breaker as a PhilosError, which it does not count.
                        verdict = _verdict(exc, deadline_bound)
                        if verdict is not Failure.OUTAGE:
                            raise _NotCounted(verdict, exc) from exc
                        raise
            except _NotCounted as spared:
                cause = spared.cause
                if spared.verdict is Failure.INPUT:
                    STORE_REFUSALS.labels(self._store).inc()
                elif spared.verdict is Failure.OTHER:
                    STORE_ERRORS.labels(self._store, method).inc()
                if self._fail_open:
                    return self._unavailable(method, spared.verdict.value, cause)
                if spared.verdict is Failure.INPUT:
                    logger.info("%s store %s refused the input: %r", self._store, method, cause)
                    raise InputRejectedError(self._store) from cause
                if spared.verdict is Failure.DEADLINE:
                    return self._unavailable(method, "the request's time ran out", cause)
                if spared.verdict is Failure.QUEUED:
                    return self._unavailable(method, "busy with other writes", cause)
                raise cause from None  # a bug of ours: masked and logged as unexpected
            except PhilosError:
                raise
            except OpenedState as exc:
                return self._unavailable(method, "circuit open", exc)
            except Exception as exc:
                STORE_ERRORS.labels(self._store, method).inc()
                if attempt + 1 < attempts:
                    await asyncio.sleep(random.uniform(0.02, 0.08))  # noqa: S311 - jitter
                    continue
                reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
                return self._unavailable(method, reason, exc)
            finally:
                timer.observe(time.perf_counter() - started)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_in_process(
        self,
        method: str,
        target: Callable[..., Awaitable[Any]],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        timer: Any,
    ) -> Any:
        """A call that does no I/O: it cannot time out, be cancelled half-way or fail because
        a server is down, so it runs inline, with no breaker, deadline or retry. A failure is
        a bug of ours, answered as an outage of the store (counted and logged)."""
        started = time.perf_counter()
        try:
            return await target(*args, **kwargs)
        except PhilosError:
            raise
        except Exception as exc:
            STORE_ERRORS.labels(self._store, method).inc()
            return self._unavailable(method, type(exc).__name__, exc)
        finally:
            timer.observe(time.perf_counter() - started)

    def _unavailable(self, method: str, reason: str, exc: BaseException | None) -> Any:
        if self._fail_open:
            logger.warning(
                "%s store %s failed (%s); going on without it", self._store, method, reason
            )
            return _CACHE_FALLBACK.get(method)
        logger.warning("%s store %s failed: %s: %r", self._store, method, reason, exc)
        raise StoreUnavailableError(self._store, reason) from exc


class _NotCounted(PhilosError):
    """Carries a failure that must not count against the breaker out through it."""

    def __init__(self, verdict: Failure, cause: Exception) -> None:
        super().__init__(str(cause))
        self.verdict = verdict
        self.cause = cause


def _verdict(exc: Exception, deadline_bound: bool) -> Failure:
    """``classify``, except that a timeout cut short by the request's own deadline says
    nothing about the store."""
    if deadline_bound and isinstance(exc, TimeoutError):
        return Failure.DEADLINE
    return classify(exc)


# What a failed cache call answers when the cache is skipped.
_CACHE_FALLBACK: dict[str, Any] = {"get_many": {}, "set_many": None, "delete": None, "incr": 0}
