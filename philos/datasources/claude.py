"""The LLM port on Anthropic's Claude, through the official ``anthropic`` SDK.

The answer is forced into a schema: the request offers exactly one tool with a strict input
schema and ``tool_choice`` names it, so the reply is one ``tool_use`` block whose input is the
answer. That input is validated again here (``StructuredOutput.parse``): a schema the API
enforces today is still not a promise our code should rest on. Strict schemas take only part
of JSON Schema; ``anthropic.transform_schema`` moves the rest (length limits, item counts) into
descriptions, and our validation enforces them.

Failures become the port's errors:

- 429 → ``LlmRateLimited`` with the seconds from ``retry-after``;
- 529 (overloaded), other 5xx, timeouts and connection errors → ``LlmFailed``;
- ``stop_reason`` ``max_tokens`` or ``refusal``, no tool call, or an input that does not
  validate → ``LlmFailed``.

The SDK retries once (``max_retries``) after transient failures, waiting what ``retry-after``
asks. A person is waiting for the answer, so a wait longer than ``MAX_RETRY_WAIT_SECONDS`` is
not sat out: ``NoLongWaits`` hands the failure back at once and the client hears how long to
wait instead.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any, TypeVar

import anthropic
from anthropic import APIRequest, AsyncAnthropic, AsyncAPIResponse, AsyncCallNext, Middleware

from philos.datasources.llm import LlmAnswer, StructuredOutput
from philos.datasources.ports import (
    LlmFailed,
    LlmRateLimited,
    TokenUsage,
)

T = TypeVar("T")

MAX_RETRY_WAIT_SECONDS = 2.0
DEFAULT_RETRY_AFTER_SECONDS = 30
_RETRIED_STATUSES = frozenset({408, 409, 429})


def retry_after_seconds(headers: Any) -> int | None:
    """Whole seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    try:
        if millis is not None:
            return max(1, math.ceil(float(millis) / 1000))
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(1, math.ceil(float(value)))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(1, math.ceil(email.utils.mktime_tz(parsed) - time.time()))


class NoLongWaits(Middleware):
    """Stop the SDK from sleeping through a long ``retry-after`` before its retry."""

    async def handle_async(
        self, request: APIRequest, call_next: AsyncCallNext
    ) -> AsyncAPIResponse[Any]:
        response = await call_next(request)
        http = response.http_response
        retried = http.status_code in _RETRIED_STATUSES or http.status_code >= 500
        if http.is_success or not retried:
            return response
        wait = retry_after_seconds(http.headers)
        if wait is None or wait <= MAX_RETRY_WAIT_SECONDS:
            return response
        await http.aclose()
        if http.status_code == 429:
            raise LlmRateLimited("Claude's rate limit was reached.", retry_after=wait)
        raise LlmFailed(
            "overloaded" if http.status_code == 529 else "upstream",
            f"Claude answered HTTP {http.status_code} and asked to wait {wait} s.",
        )


class ClaudeLLM:
    """One ``AsyncAnthropic`` client per process; ``aclose`` releases its connections."""

    name = "claude"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 1,
    ) -> None:
        self.model = model
        # base_url None lets the SDK use ANTHROPIC_BASE_URL, or else its default.
        self._client = AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            middleware=[NoLongWaits()],
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def aclose(self) -> None:
        await self._client.close()

    async def complete(
        self, *, system: str, user: str, output: StructuredOutput[T], max_tokens: int
    ) -> LlmAnswer[T]:
        try:
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
                tools=[
                    {
                        "name": output.name,
                        "description": output.description,
                        "input_schema": anthropic.transform_schema(dict(output.schema)),
                        "strict": True,
                    }
                ],
                tool_choice={
                    "type": "tool",
                    "name": output.name,
                    "disable_parallel_tool_use": True,
                },
            )
        except anthropic.RateLimitError as exc:
            wait = retry_after_seconds(exc.response.headers) or DEFAULT_RETRY_AFTER_SECONDS
            raise LlmRateLimited("Claude's rate limit was reached.", retry_after=wait) from exc
        except anthropic.APITimeoutError as exc:
            raise LlmFailed("timeout", "Claude did not answer in time.") from exc
        except anthropic.APIConnectionError as exc:
            raise LlmFailed("connection", "Claude could not be reached.") from exc
        except anthropic.APIStatusError as exc:
            reason = "overloaded" if exc.status_code == 529 else "upstream"
            raise LlmFailed(reason, f"Claude answered HTTP {exc.status_code}.") from exc
        except anthropic.APIError as exc:  # e.g. a reply the SDK itself could not read
            raise LlmFailed("upstream", "Claude's answer could not be read.") from exc

        usage = TokenUsage(
            input_tokens=message.usage.input_tokens, output_tokens=message.usage.output_tokens
        )
        stop = message.stop_reason or "unknown"
        if stop == "max_tokens":
            raise LlmFailed("max_tokens", "Claude's answer was cut off at its length limit.", usage)
        if stop == "refusal":
            raise LlmFailed("refusal", "Claude declined to answer this request.", usage)
        calls = [b for b in message.content if b.type == "tool_use" and b.name == output.name]
        if len(calls) != 1:
            raise LlmFailed("invalid_output", "Claude did not answer in the required form.", usage)
        try:
            value = output.parse(calls[0].input)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise LlmFailed(
                "invalid_output", "Claude's answer did not match the required form.", usage
            ) from exc
        return LlmAnswer(output=value, usage=usage, stop_reason=stop, model=message.model)
