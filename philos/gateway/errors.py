"""Error masking: clients see their own mistakes in full and nothing of ours.

Errors from parsing, validation and ``UserInputError`` carry no foreign exception and pass as
they are. Anything else raised inside a resolver is an unexpected failure: it is logged with the
request id and the client gets ``Unexpected error`` with that id to quote.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from philos.domain import BudgetExceededError, InputRejectedError, StoreUnavailableError

logger = logging.getLogger("philos.errors")


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def _replaced(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    """``error`` at the same place, with its cause dropped."""
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def masked(error: GraphQLError, request_id: str) -> GraphQLError:
    """What the client sees of an error whose cause is not a GraphQLError."""
    original = error.original_error
    if isinstance(original, StoreUnavailableError):
        return _replaced(
            error, original.message, {"code": "STORE_UNAVAILABLE", "store": original.store}
        )
    if isinstance(original, InputRejectedError):
        return _replaced(error, original.message, {"code": "BAD_USER_INPUT"})
    if isinstance(original, BudgetExceededError):
        return _replaced(error, original.message, {"code": "STORE_BUDGET_EXCEEDED"})
    logger.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()) or "operation",
        request_id,
        exc_info=original,
    )
    return _replaced(
        error,
        f"Unexpected error. Quote request id {request_id} when reporting it.",
        {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    )


class MaskUnexpectedErrors(MaskErrors):
    """Also turns a store outage into a clear, unmasked error on the fields it affects.

    Errors raised by other extensions' hooks never pass through here; the view masks those
    with the same ``masked`` (see ``gateway/graphql.py``)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = self.execution_context.context
        return masked(error, getattr(context, "request_id", None) or "unknown")
