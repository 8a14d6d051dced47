"""Mutation results: a success type or one of the expected failures, as union members.

Every failure implements ``Problem`` so a client can always ask ``... on Problem { message }``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from philos import domain
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

Failure = NotFound | ValidationFailed | Conflict | Forbidden
S = TypeVar("S")


def failure_of(exc: domain.PhilosError) -> Failure:
    if isinstance(exc, domain.NotFoundError):
        return NotFound(message=exc.message, id=strawberry.ID(exc.ident))
    if isinstance(exc, domain.ValidationError):
        return ValidationFailed(
            message=exc.message,
            fields=[FieldError(field=p.field, message=p.message) for p in exc.problems],
        )
    if isinstance(exc, domain.ConflictError):
        return Conflict(message=exc.message, current_version=exc.current_version)
    if isinstance(exc, domain.ForbiddenError):
        return Forbidden(message=exc.message)
    if isinstance(exc, domain.InputRejectedError):
        return ValidationFailed(
            message=exc.message, fields=[FieldError(field="input", message=exc.message)]
        )
    raise exc


async def attempt(action: Callable[[], Awaitable[S]]) -> S | Failure:
    """Run a mutation's work; expected failures come back as payloads, the rest propagates."""
    try:
        return await action()
    except domain.PhilosError as exc:
        return failure_of(exc)


async def attempt_auth(
    action: Callable[[], Awaitable[S]],
) -> S | Failure | AuthFailed | AuthRateLimited:
    """``attempt`` for account mutations, where bad credentials (and too many of them) are
    expected failures too."""
    try:
        return await action()
    except domain.AuthError as exc:
        return AuthFailed(message=exc.message)
    except domain.AuthRateLimitedError as exc:
        return AuthRateLimited(message=exc.message, retry_after_seconds=exc.retry_after)
    except domain.PhilosError as exc:
        return failure_of(exc)
