"""Which failures of a store call say something about the store's health.

A circuit breaker opens for everyone, so only failures that mean the store cannot serve
*anyone* may count against it: it cannot be reached, the connection broke, it is shutting down
or out of resources, or it did not answer in time. A store that refuses what one caller sent
(text it cannot encode, a number out of range, an expression too large, a document too big) is
healthy: that is the caller's mistake and becomes a ``BAD_USER_INPUT`` error for that caller
alone. Anything else (a statement the store rejects for reasons of our own making) is a bug: it
is reported as an unexpected error and does not count either, since opening the breaker would
turn one bad query into an outage.

``classify`` walks the exception's chain (``__cause__``, ``__context__`` and SQLAlchemy's
``orig``), outermost first, and answers the first verdict it finds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from enum import Enum

import asyncpg
import sqlalchemy.exc

from philos.timeouts import TurnNotReachedError


class Failure(Enum):
    OUTAGE = "outage"  # the store cannot serve anyone: counts against its breaker
    INPUT = "input"  # the store refused what the caller sent
    OTHER = "other"  # neither: a bug of ours, reported as unexpected
    DEADLINE = "deadline"  # cut short by the request's own deadline (set by the guard)
    QUEUED = "queued"  # timed out still waiting its turn in this process: the store never saw it


# PostgreSQL SQLSTATE classes: connection exception, insufficient resources, operator
# intervention (shutdown, cancelled by the server), system error.
_OUTAGE_SQLSTATE = ("08", "53", "57", "58")
# Data exception (invalid text, out of range, bad encoding), integrity violation (e.g. a key
# that a concurrent delete removed), program limit exceeded (statement or value too large).
_INPUT_SQLSTATE = ("22", "23", "54")
_SQLITE_OUTAGE = (
    "locked",
    "unable to open",
    "disk i/o",
    "readonly database",
    "busy",
    "disk is full",
)
_SQLITE_INPUT = ("too large", "too big", "too many", "expression tree", "string or blob")
_MONGO_INPUT_CODES = frozenset({2, 10334, 17280})  # BadValue, BSONObjectTooLarge, key too long
_NEO4J_INPUT = ("Neo.ClientError.Statement.ArgumentError", "Neo.ClientError.Statement.TypeError")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                pending.append(linked)


# The Neo4j, MongoDB and Redis drivers are imported only by the wirings that use them (the
# Neo4j driver alone is about 40 MiB of a process): their exceptions are judged by functions
# that import the driver's exception module when one of its exceptions is in hand, which
# means the driver is loaded already.


def _mongo(exc: BaseException) -> Failure | None:
    import bson.errors
    import pymongo.errors

    if isinstance(exc, bson.errors.InvalidDocument | bson.errors.InvalidStringData):
        return Failure.INPUT
    if isinstance(exc, pymongo.errors.DocumentTooLarge):
        return Failure.INPUT
    if isinstance(exc, pymongo.errors.OperationFailure) and exc.code in _MONGO_INPUT_CODES:
        return Failure.INPUT
    if isinstance(
        exc,
        pymongo.errors.ConnectionFailure
        | pymongo.errors.ExecutionTimeout
        | pymongo.errors.WaitQueueTimeoutError,
    ):
        return Failure.OUTAGE
    return None


def _neo4j(exc: BaseException) -> Failure | None:
    import neo4j.exceptions

    if isinstance(exc, neo4j.exceptions.ClientError) and (exc.code or "").startswith(_NEO4J_INPUT):
        return Failure.INPUT
    if isinstance(
        exc,
        neo4j.exceptions.ServiceUnavailable
        | neo4j.exceptions.SessionExpired
        | neo4j.exceptions.TransientError,
    ):
        return Failure.OUTAGE
    return None


def _redis(exc: BaseException) -> Failure | None:
    import redis.exceptions

    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return Failure.OUTAGE
    return None


# A driver's top-level package -> the judge of its exceptions (and of subclasses of them).
_DRIVERS: dict[str, Callable[[BaseException], Failure | None]] = {
    "bson": _mongo,
    "pymongo": _mongo,
    "neo4j": _neo4j,
    "redis": _redis,
}


def _driver_verdict(exc: BaseException) -> Failure | None:
    for cls in type(exc).__mro__:
        judge = _DRIVERS.get(cls.__module__.partition(".")[0])
        if judge is not None:
            return judge(exc)
    return None


def _verdict(exc: BaseException) -> Failure | None:
    if isinstance(exc, TurnNotReachedError):
        return Failure.QUEUED
    # Input first: some drivers' input errors subclass their connection errors
    # (asyncpg's DataError is an InterfaceError).
    if isinstance(exc, UnicodeError | OverflowError | asyncpg.DataError):
        return Failure.INPUT
    verdict = _driver_verdict(exc)
    if verdict is not None:
        return verdict
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        if sqlstate.startswith(_INPUT_SQLSTATE):
            return Failure.INPUT
        if sqlstate.startswith(_OUTAGE_SQLSTATE):
            return Failure.OUTAGE
    if isinstance(exc, sqlite3.DataError | sqlite3.IntegrityError):
        return Failure.INPUT
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        if any(part in message for part in _SQLITE_INPUT):
            return Failure.INPUT
        if any(part in message for part in _SQLITE_OUTAGE):
            return Failure.OUTAGE
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return Failure.OUTAGE
    if isinstance(exc, sqlalchemy.exc.TimeoutError | sqlalchemy.exc.DisconnectionError):
        return Failure.OUTAGE  # no pooled connection in time, or a dropped one
    if isinstance(
        exc,
        TimeoutError
        | OSError  # refused, reset, unreachable…
        | asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError,
    ):
        return Failure.OUTAGE
    return None


def classify(exc: BaseException) -> Failure:
    """What a failed store call's exception says: outage, the caller's input, or neither."""
    for linked in _chain(exc):
        verdict = _verdict(linked)
        if verdict is not None:
            return verdict
    return Failure.OTHER
