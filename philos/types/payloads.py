"""Mutation results: a success type or one of the expected failures, as union members.

Every failure implements ``Problem`` so a client can always ask ``... on Problem { message }``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, TypeVar, cast, overload

import strawberry

from philos import errors
from philos.types.hints import store_cost
from philos.types.objects import Concept, Relation, Thesis


@strawberry.interface(description="An expected failure, with a message a person can act on.")
class Problem:
    message: str


@strawberry.type(description="The record named in the input does not exist.")
class NotFound(Problem):
    id: strawberry.ID


@strawberry.type
class FieldError:
    field: str = strawberry.field(description="Input path, e.g. 'tags[2]'.")
    message: str


@strawberry.type(description="The input broke one or more rules; nothing was changed.")
class ValidationFailed(Problem):
    fields: list[FieldError] = strawberry.field(metadata=store_cost(items=20))


@strawberry.type(description="The change clashes with the current data; nothing was changed.")
class Conflict(Problem):
    current_version: int | None = strawberry.field(
        description="For stale updates: the version to reload."
    )


@strawberry.type(description="The caller may not do this; the message says what is needed.")
class Forbidden(Problem):
    pass


@strawberry.type(description="Wrong credentials, or an expired, revoked or reused token.")
class AuthFailed(Problem):
    pass


@strawberry.type(
    description="Too many failed sign-ins for this account or from this client: nothing was "
    "checked (during a lock-out not even the right password is accepted). Try again later."
)
class AuthRateLimited(Problem):
    retry_after_seconds: int = strawberry.field(description="Seconds to wait before trying again.")


@strawberry.type
class ConceptSuccess:
    concept: Concept


@strawberry.type
class RelationSuccess:
    relation: Relation


@strawberry.type
class ThesisSuccess:
    thesis: Thesis


@strawberry.type(description="The record is gone.")
class DeleteSuccess:
    id: strawberry.ID


CreateConceptResult = Annotated[
    ConceptSuccess | ValidationFailed | Conflict | Forbidden,
    strawberry.union("CreateConceptResult"),
]
UpdateConceptResult = Annotated[
    ConceptSuccess | NotFound | ValidationFailed | Conflict | Forbidden,
    strawberry.union("UpdateConceptResult"),
]
DeleteResult = Annotated[DeleteSuccess | NotFound | Forbidden, strawberry.union("DeleteResult")]
RelateConceptsResult = Annotated[
    RelationSuccess | NotFound | ValidationFailed | Conflict | Forbidden,
    strawberry.union("RelateConceptsResult"),
]
ThesisResult = Annotated[
    ThesisSuccess | NotFound | ValidationFailed | Conflict | Forbidden,
    strawberry.union("ThesisResult"),
]


@strawberry.enum(description="Why an AI call failed.")
class AiFailureReason(enum.Enum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    OVERLOADED = "overloaded"
    UPSTREAM = "upstream"
    MAX_TOKENS = "max_tokens"
    REFUSAL = "refusal"
    INVALID_OUTPUT = "invalid_output"


@strawberry.type(
    description="AI features are not enabled on this server; the message says how to enable "
    "them. Nothing was changed."
)
class AiUnavailable(Problem):
    pass


@strawberry.type(
    description="Too many AI requests: the model provider's rate limit, this server's capacity "
    "or your quota. Nothing was changed; try again after `retryAfterSeconds`."
)
class AiRateLimited(Problem):
    retry_after_seconds: int


@strawberry.type(
    description="The model call failed (timeout, overload, provider error) or its answer was "
    "unusable (cut off, refused, or not in the required form). Nothing was changed."
)
class AiFailed(Problem):
    reason: AiFailureReason


Failure = NotFound | ValidationFailed | Conflict | Forbidden


# Expected failures --------------------------------------------------------------------------
#
# A mutation's work raises the errors of ``philos/errors.py``; ``attempt`` turns the ones the
# mutation's result union has a member for into that member, and lets every other error
# propagate (to be masked, or answered as a field error). Each mutation states its members
# once, with ``expecting``, and mypy checks them against the union it declares.

S = TypeVar("S")
A = TypeVar("A", bound=Problem)
B = TypeVar("B", bound=Problem)
C = TypeVar("C", bound=Problem)
D = TypeVar("D", bound=Problem)
E = TypeVar("E", bound=Problem)
F = TypeVar("F", bound=Problem)
G = TypeVar("G", bound=Problem)
P = TypeVar("P", bound=Problem)


def payload_for(exc: Exception) -> Problem | None:
    """The payload an expected failure answers with; None for any other error."""
    if isinstance(exc, errors.NotFoundError):
        return NotFound(message=exc.message, id=strawberry.ID(exc.ident))
    if isinstance(exc, errors.ValidationError):
        return ValidationFailed(
            message=exc.message,
            fields=[FieldError(field=p.field, message=p.message) for p in exc.problems],
        )
    if isinstance(exc, errors.InputRejectedError):
        return ValidationFailed(
            message=exc.message, fields=[FieldError(field="input", message=exc.message)]
        )
    if isinstance(exc, errors.ConflictError):
        return Conflict(message=exc.message, current_version=exc.current_version)
    if isinstance(exc, errors.ForbiddenError):
        return Forbidden(message=exc.message)
    if isinstance(exc, errors.AuthError):
        return AuthFailed(message=exc.message)
    if isinstance(exc, errors.AuthRateLimitedError):
        return AuthRateLimited(message=exc.message, retry_after_seconds=exc.retry_after)
    if isinstance(exc, errors.AiNotConfigured):
        return AiUnavailable(message=exc.message)
    if isinstance(exc, errors.LlmRateLimited):
        return AiRateLimited(
            message=f"{exc.message} Try again in {exc.retry_after} s.",
            retry_after_seconds=exc.retry_after,
        )
    if isinstance(exc, errors.LlmFailed):
        return AiFailed(message=exc.message, reason=AiFailureReason(exc.reason))
    return None


class Expected(Generic[P]):
    """The failure payloads a mutation may answer with (made by ``expecting``)."""

    def __init__(self, kinds: tuple[type[Problem], ...]) -> None:
        self.kinds = kinds

    def payload(self, exc: Exception) -> P | None:
        found = payload_for(exc)
        return cast(P, found) if isinstance(found, self.kinds) else None


@overload
def expecting(a: type[A], /) -> Expected[A]: ...
@overload
def expecting(a: type[A], b: type[B], /) -> Expected[A | B]: ...
@overload
def expecting(a: type[A], b: type[B], c: type[C], /) -> Expected[A | B | C]: ...
@overload
def expecting(a: type[A], b: type[B], c: type[C], d: type[D], /) -> Expected[A | B | C | D]: ...
@overload
def expecting(
    a: type[A], b: type[B], c: type[C], d: type[D], e: type[E], /
) -> Expected[A | B | C | D | E]: ...
@overload
def expecting(
    a: type[A], b: type[B], c: type[C], d: type[D], e: type[E], f: type[F], /
) -> Expected[A | B | C | D | E | F]: ...
@overload
def expecting(
    a: type[A], b: type[B], c: type[C], d: type[D], e: type[E], f: type[F], g: type[G], /
) -> Expected[A | B | C | D | E | F | G]: ...
def expecting(*kinds: type[Problem]) -> Expected[Any]:
    return Expected(kinds)


async def attempt(action: Callable[[], Awaitable[S]], expected: Expected[P]) -> S | P:
    """Run a mutation's work; an expected failure comes back as its payload."""
    try:
        return await action()
    except (errors.PhilosError, errors.LlmError) as exc:
        payload = expected.payload(exc)
        if payload is None:
            raise
        return payload


# What the content mutations expect, by kind of change.
CreateFailure = ValidationFailed | Conflict | Forbidden
DeleteFailure = NotFound | Forbidden
CREATES: Expected[CreateFailure] = expecting(ValidationFailed, Conflict, Forbidden)
CHANGES: Expected[Failure] = expecting(NotFound, ValidationFailed, Conflict, Forbidden)
DELETES: Expected[DeleteFailure] = expecting(NotFound, Forbidden)
