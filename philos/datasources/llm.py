"""The LLM port: what the AI features need from a model, and nothing more."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from philos.errors import TokenUsage

# # One call: a system prompt, the user's turn, the shape the answer must have, and an output
# budget. The adapter forces the answer into that shape (a tool call), validates it again with
# ``StructuredOutput.parse`` and raises ``LlmError`` for everything that is not a usable answer
# (the ``LlmError`` branch of the tree in ``philos/errors.py``).

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StructuredOutput(Generic[T]):
    """The answer a model must give, as the input of one forced tool call.

    ``parse`` validates that input on our side and raises ``ValueError`` when it does not fit.
    """

    name: str
    description: str
    schema: Mapping[str, Any]
    parse: Callable[[Any], T]


@dataclass(frozen=True, slots=True)
class LlmAnswer(Generic[T]):
    output: T
    usage: TokenUsage
    stop_reason: str
    model: str


class LLM(Protocol):
    name: str
    model: str

    async def complete(
        self, *, system: str, user: str, output: StructuredOutput[T], max_tokens: int
    ) -> LlmAnswer[T]:
        """Ask once; the answer is validated. Raises ``LlmRateLimited`` or ``LlmFailed``."""

    async def aclose(self) -> None: ...
