"""Start-up errors an operator can act on: a store URL that cannot be used, said in one line.

A URL that does not parse, names a scheme we have no driver for, or (for the SQL database)
leads nowhere — wrong host or port, wrong credentials, a missing database, no answer — stops
``philos serve | migrate | seed | worker`` with ``StartupError``: the variable, the URL tried
(password masked) and the reason, on one line. The CLI prints that line and exits non-zero.
A separate graph, thesis or cache store that merely does not answer is no such error: the API
starts without it (its fields fail, the outbox catches it up later).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from philos.errors import (
    StartupError as StartupError,
)
from philos.errors import (
    _secrets as _secrets,
)
from philos.errors import (
    mask_url as mask_url,
)
from philos.errors import (
    one_line as one_line,
)
from philos.timeouts import within

T = TypeVar("T")

# Which setting names each store (by the name its guard reports).
VARIABLES = {
    "sql": "DATABASE_URL",
    "neo4j": "NEO4J_URI",
    "mongo": "MONGODB_URI",
    "redis": "REDIS_URL",
}

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
MONGODB_SCHEMES = ("mongodb", "mongodb+srv")
REDIS_SCHEMES = ("redis", "rediss", "unix")
RABBITMQ_SCHEMES = ("amqp", "amqps")
SQL_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg", "sqlite", "sqlite+aiosqlite")


def check_url(variable: str, url: str, schemes: tuple[str, ...], *, host: bool = True) -> None:
    """Refuse a URL whose scheme, host or port cannot work, before any driver sees it."""
    if not url.strip():
        raise StartupError(variable, url, "is empty")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise StartupError(variable, url, f"does not parse as a URL ({exc})") from exc
    if "://" not in url or parts.scheme.lower() not in schemes:
        choices = ", ".join(s + "://" for s in schemes)
        raise StartupError(
            variable, url, f"unsupported scheme {parts.scheme!r}; use one of {choices}"
        )
    if host and parts.scheme.lower() not in ("sqlite", "sqlite+aiosqlite", "unix"):
        _check_authority(variable, url, parts)


def _check_authority(variable: str, url: str, parts: SplitResult) -> None:
    # mongodb:// may list several hosts (h1:1,h2:2); each needs a usable port.
    hosts = parts.netloc.rpartition("@")[2].split(",")
    for entry in hosts:
        try:
            item = urlsplit(f"//{entry}")
            port, hostname = item.port, item.hostname
        except ValueError as exc:
            raise StartupError(variable, url, f"bad host or port {entry!r} ({exc})") from exc
        if port == 0:
            raise StartupError(variable, url, "port 0 is not a port a server listens on")
        if not hostname and variable != "DATABASE_URL":  # libpq defaults an empty host
            raise StartupError(variable, url, "names no host")


def construct(variable: str, url: str, make: Callable[[], T]) -> T:
    """Build a driver client; a URL it refuses becomes a ``StartupError``."""
    try:
        return make()
    except StartupError:
        raise
    except Exception as exc:  # the drivers raise ValueError, InvalidURI, ConfigurationError…
        raise StartupError(variable, url, describe(exc)) from exc


async def reach(variable: str, url: str, call: Awaitable[T], seconds: float | None) -> T:
    """Await a call to a store that start-up cannot do without, for at most ``seconds``."""
    try:
        return await (call if seconds is None else within(call, seconds))
    except StartupError:
        raise
    except TimeoutError as exc:
        raise StartupError(variable, url, f"no answer within {seconds:g} s") from exc
    except Exception as exc:
        raise StartupError(variable, url, describe(exc)) from exc


def describe(exc: BaseException) -> str:
    """What went wrong, in the operator's terms where we know them."""
    inner = _innermost(exc)
    kind = type(inner).__name__
    text = one_line(str(inner)) or kind
    sqlstate = str(getattr(inner, "sqlstate", "") or "")
    if sqlstate == "28P01":
        return f"wrong credentials: {text}"
    if sqlstate.startswith("28"):
        return f"credentials refused: {text}"
    if sqlstate == "3D000":
        return f"the database does not exist: {text}"
    if kind == "AuthError":
        return f"wrong credentials: {text}"
    if isinstance(inner, socket.gaierror):
        return f"unknown host: {text}"
    if isinstance(inner, ConnectionRefusedError):
        return f"connection refused: {text}"
    if isinstance(inner, OSError):
        return f"cannot connect: {text}"
    if isinstance(inner, ModuleNotFoundError):
        return f"no driver for this scheme ({text})"
    return f"{kind}: {text}"


def _innermost(exc: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrappers (``.orig``, then the cause)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "orig", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    return exc


def is_auth_error(exc: BaseException) -> bool:
    """A store that refused our credentials (Neo4j ``AuthError``, MongoDB code 18)."""
    return type(exc).__name__ == "AuthError" or getattr(exc, "code", None) == 18
