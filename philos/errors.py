"""Every exception Philos raises, in one tree.

    PhilosError                   an expected failure; each becomes a typed payload or a
     |                            field error for the client (``.message`` says what to do)
     +-- NotFoundError            (.kind, .ident)
     +-- ValidationError          (.problems: FieldProblem per input field)
     +-- ForbiddenError           the caller's role or sign-in does not allow it
     +-- AuthError                credentials or a token wrong, expired or revoked
     +-- AuthRateLimitedError     too many failed sign-ins (.retry_after)
     +-- ConflictError            stale version, taken slug, duplicate (.current_version)
     +-- StoreUnavailableError    a store timed out, failed or its breaker is open (.store)
     +-- InputRejectedError       a store refused a value the caller sent (.store)
     +-- BudgetExceededError      the request used up its store calls (.limit)
    LlmError                      a model call gave no usable answer (.usage)
     +-- LlmRateLimited           "later" from the provider or our limits (.retry_after)
     |    +-- Busy                every model-call slot of this process stayed taken
     |    +-- QuotaExceeded       the caller used up their AI requests for the window
     +-- LlmFailed                (.reason) timeout, connection, overloaded, upstream,
     |                            max_tokens, refusal, invalid_output
     +-- AiNotConfigured          no model configured (no ANTHROPIC_API_KEY)
    UserInputError                a field argument out of range (GraphQL error, BAD_USER_INPUT)
    StartupError                  a setting start-up cannot work with (names the variable)
    SeedIncomplete                some store could not take its part of the corpus
    RateLimited                   the caller is over a request rate limit (HTTP 429)
    BodyTooLarge, BodyTimeout     the request body is too large or too slow (HTTP 413, 408)

The modules that raise them import them from here (``philos.domain`` and
``philos.datasources.ports`` re-export theirs for the code that reads them as part of
those vocabularies).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from graphql import GraphQLError


class PhilosError(Exception):
    """Base of the expected failures; each becomes a typed payload for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(PhilosError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"No {kind} with id '{ident}' exists.")
        self.kind = kind
        self.ident = ident


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class ValidationError(PhilosError):
    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = " ".join(f"{p.field}: {p.message}" for p in problems)
        super().__init__(f"The input is not valid. {summary}")
        self.problems = problems


class ForbiddenError(PhilosError):
    """The caller may not do this; the message says what role or sign-in it needs."""


class AuthError(PhilosError):
    """Credentials or a token were wrong, expired or revoked."""


class AuthRateLimitedError(PhilosError):
    """Too many failed sign-ins for the account or from the client: wait ``retry_after``
    seconds (during a lock-out even the right password is refused)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed attempts; try again in {retry_after} seconds."
            if retry_after > 1
            else "Too many failed attempts; try again in a second."
        )
        self.retry_after = retry_after


class StoreUnavailableError(PhilosError):
    """A backing store timed out, failed or is behind an open circuit breaker."""

    def __init__(self, store: str, reason: str) -> None:
        super().__init__(
            f"The {store} store is unavailable right now ({reason}); try again shortly."
        )
        self.store = store
        self.reason = reason


class ConflictError(PhilosError):
    def __init__(self, message: str, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class InputRejectedError(PhilosError):
    """A store refused a value the caller sent (not encodable, out of range, too large).

    The store is healthy; this is the caller's mistake and counts against no breaker."""

    def __init__(self, store: str) -> None:
        super().__init__(
            f"The {store} store cannot accept a value in this request (text it cannot store, "
            "a number out of range, or a value too large); change the input and try again."
        )
        self.store = store


class BudgetExceededError(PhilosError):
    """The request used up its budget of store calls; the rest of it is not run."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The query needs more than {limit} store calls, this server's limit for one "
            "request; ask for fewer or smaller nested lists, or split it into several queries."
        )
        self.limit = limit


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0


class LlmError(Exception):
    def __init__(self, message: str, usage: TokenUsage | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage or TokenUsage()


class LlmRateLimited(LlmError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LlmFailed(LlmError):
    def __init__(self, reason: str, message: str, usage: TokenUsage | None = None) -> None:
        super().__init__(message, usage)
        self.reason = reason


class AiNotConfigured(LlmError):
    """No model is configured (no ANTHROPIC_API_KEY)."""


class Busy(LlmRateLimited):
    """Every slot for model calls in this process stayed taken for the whole queue timeout."""


class QuotaExceeded(LlmRateLimited):
    """The caller used up their AI requests for the current window."""


class UserInputError(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "BAD_USER_INPUT"})


_SECRET_PARAM = re.compile(r"(?i)\b(password|passwd|pwd|secret|token)=[^&#\s]*")


class StartupError(Exception):
    """A setting start-up cannot work with; ``str()`` is one line naming it."""

    def __init__(self, variable: str, url: str, reason: str) -> None:
        self.variable = variable
        tried = mask_url(url)
        for secret in _secrets(url):  # as a whole word: a password "p" leaves "port" alone
            reason = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", "***", reason)
        super().__init__(one_line(f"{variable} (tried {tried!r}): {reason}"))


def one_line(text: str) -> str:
    return " ".join(text.split())


def mask_url(url: str) -> str:
    """The URL with its password (and any password-like query parameter) replaced by ***.

    Errs on the side of masking: everything between the user name and the last ``@`` goes.
    """
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        rest = f"{user}:***@{host}" if colon else f"{user}@{host}"
        url = f"{scheme}://{rest}"
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}=***", url)


def _secrets(url: str) -> Iterable[str]:
    """The password as written and decoded, so a driver's message cannot echo it."""
    _, sep, rest = url.partition("://")
    if sep and "@" in rest:
        userinfo = rest.rpartition("@")[0]
        _, colon, password = userinfo.partition(":")
        if colon and password:
            yield from sorted({password, unquote(password)}, key=len, reverse=True)
    for match in _SECRET_PARAM.finditer(url):
        value = match.group(0).partition("=")[2]
        if value:
            yield value


class SeedIncomplete(Exception):
    """Some store could not take its part of the corpus; the others got theirs."""

    def __init__(self, added: dict[str, int], failures: dict[str, StoreUnavailableError]):
        super().__init__(
            "; ".join(f"the {part} were not loaded: {exc}" for part, exc in failures.items())
        )
        self.added = added
        self.failures = failures


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass
