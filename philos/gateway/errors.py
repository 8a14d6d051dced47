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


def masked(error: GraphQLError, request_id: str) -> GraphQLError:
    """What the client sees of an error whose cause is not a GraphQLError."""
    if isinstance(error.original_error, StoreUnavailableError):
        return GraphQLError(
            message=error.original_error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": "STORE_UNAVAILABLE", "store": error.original_error.store},
        )
    if isinstance(error.original_error, InputRejectedError | BudgetExceededError):
        code = (
            "BAD_USER_INPUT"
            if isinstance(error.original_error, InputRejectedError)
            else "STORE_BUDGET_EXCEEDED"
        )
        return GraphQLError(
            message=error.original_error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": code},
        )
    logger.error(
        "unexpected error in %s (request %s)",
        ".".join(str(p) for p in error.path or ()) or "operation",
        request_id,
        exc_info=error.original_error,
    )
    return GraphQLError(
        message=f"Unexpected error. Quote request id {request_id} when reporting it.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
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
