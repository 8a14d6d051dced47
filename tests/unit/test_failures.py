"""What a failed store call says (``philos.datasources.failures``): the first verdict along the
exception's chain, outermost first."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys

import bson.errors
import neo4j.exceptions
import pymongo.errors
import redis.exceptions
from hypothesis import given
from hypothesis import strategies as st

from philos.datasources.failures import Failure, classify

VERDICTS: list[tuple[BaseException, Failure]] = [
    (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates"), Failure.INPUT),
    (OverflowError("big"), Failure.INPUT),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), Failure.INPUT),
    (sqlite3.OperationalError("string or blob too big"), Failure.INPUT),
    (sqlite3.OperationalError("database is locked"), Failure.OUTAGE),
    (sqlite3.OperationalError("database or disk is full"), Failure.OUTAGE),
    (ConnectionRefusedError("refused"), Failure.OUTAGE),
    (TimeoutError(), Failure.OUTAGE),
    (ValueError("ours"), Failure.OTHER),
    (sqlite3.OperationalError("no such column: x"), Failure.OTHER),
]


class WithState(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def chained(errors: list[BaseException]) -> BaseException:
    """errors[0] raised from errors[1], raised from errors[2]…"""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def expected(errors: list[BaseException]) -> Failure:
    for error in errors:
        for known, verdict in VERDICTS:
            if (
                type(error) is type(known)
                and str(error) == str(known)
                and verdict is not Failure.OTHER
            ):
                return verdict
    return Failure.OTHER


@given(st.lists(st.sampled_from(range(len(VERDICTS))), min_size=1, max_size=5))
def test_the_outermost_verdict_along_the_chain_wins(picks: list[int]) -> None:
    errors = [_copy(VERDICTS[i][0]) for i in picks]
    assert classify(chained(errors)) == expected(errors)


def _copy(error: BaseException) -> BaseException:
    if isinstance(error, UnicodeEncodeError):
        return UnicodeEncodeError(
            error.encoding, error.object, error.start, error.end, error.reason
        )
    if isinstance(error, pymongo.errors.OperationFailure):
        return type(error)(str(error), code=error.code)
    return type(error)(*error.args)


@given(
    st.sampled_from(["08", "53", "57", "58", "22", "23", "54", "42", "XX"]),
    st.text("0123456789ABC", min_size=3, max_size=3),
)
def test_sqlstate_classes(prefix: str, rest: str) -> None:
    verdict = classify(WithState(prefix + rest))
    if prefix in ("08", "53", "57", "58"):
        assert verdict is Failure.OUTAGE
    elif prefix in ("22", "23", "54"):
        assert verdict is Failure.INPUT
    else:
        assert verdict is Failure.OTHER


def test_a_context_and_an_orig_are_followed_and_cycles_end() -> None:
    inner = TimeoutError()
    outer = ValueError("wrapped")
    outer.__context__ = inner
    assert classify(outer) is Failure.OUTAGE

    class Wrapper(Exception):
        orig: BaseException

    wrapper = Wrapper("sqlalchemy-like")
    wrapper.orig = OverflowError()
    assert classify(wrapper) is Failure.INPUT

    a, b = ValueError("a"), ValueError("b")
    a.__cause__, b.__cause__ = b, a
    assert classify(a) is Failure.OTHER


class Dropped(pymongo.errors.AutoReconnect):
    """A subclass of a driver's error defined elsewhere: judged as the driver's error."""


DRIVER_VERDICTS: list[tuple[BaseException, Failure]] = [
    (neo4j.exceptions.ServiceUnavailable("no route"), Failure.OUTAGE),
    (neo4j.exceptions.SessionExpired("gone"), Failure.OUTAGE),
    (neo4j.exceptions.DriverError("ours"), Failure.OTHER),
    (pymongo.errors.AutoReconnect("reset"), Failure.OUTAGE),
    (pymongo.errors.ExecutionTimeout("slow"), Failure.OUTAGE),
    (pymongo.errors.DocumentTooLarge("big"), Failure.INPUT),
    (pymongo.errors.OperationFailure("bad value", code=2), Failure.INPUT),
    (pymongo.errors.OperationFailure("duplicate key", code=11000), Failure.OTHER),
    (bson.errors.InvalidDocument("key"), Failure.INPUT),
    (redis.exceptions.ConnectionError("refused"), Failure.OUTAGE),
    (redis.exceptions.TimeoutError("slow"), Failure.OUTAGE),
    (redis.exceptions.ResponseError("WRONGTYPE"), Failure.OTHER),
    (Dropped("reset"), Failure.OUTAGE),
]


@given(st.sampled_from(DRIVER_VERDICTS), st.sampled_from([None, *VERDICTS]))
def test_driver_errors_are_judged_by_their_driver(
    case: tuple[BaseException, Failure], inner: tuple[BaseException, Failure] | None
) -> None:
    """Each driver's errors, outermost or wrapping another error: a driver error with no
    verdict of its own lets the wrapped one decide."""
    error, verdict = case
    outer = _copy(error)
    if inner is not None:
        outer.__cause__ = _copy(inner[0])
    if verdict is Failure.OTHER and inner is not None:
        verdict = inner[1]
    assert classify(outer) is verdict


def test_the_drivers_of_stores_not_in_use_are_not_imported() -> None:
    """The Neo4j, MongoDB and Redis drivers load only with the wirings that use them."""
    code = (
        "import sys, philos.bootstrap, philos.datasources.failures; "
        "print(sorted(m for m in ('neo4j', 'pymongo', 'bson', 'beanie', 'motor') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
