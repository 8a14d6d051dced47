"""A scripted stand-in for the Anthropic Messages API, served over HTTP on 127.0.0.1.

It speaks enough of ``POST /v1/messages`` for our calls: ``tool_use`` content blocks, ``usage``,
``stop_reason``, error bodies (``{"type": "error", "error": {...}}``) and headers such as
``retry-after``. Each test scripts the replies it wants, in order; every request is recorded
(body and headers) so tests can check what the real SDK sent. A request with nothing scripted
gets a 500 that the SDK does not retry, so a test that forgot a reply fails loudly.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def system(self) -> str:
        system = self.body.get("system", "")
        if isinstance(system, list):
            return "".join(block.get("text", "") for block in system)
        return str(system)

    @property
    def user_text(self) -> str:
        parts: list[str] = []
        for message in self.body.get("messages", []):
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts.extend(block.get("text", "") for block in content)
        return "\n".join(parts)

    @property
    def tool_name(self) -> str:
        return str(self.body.get("tool_choice", {}).get("name", ""))


@dataclass
class Reply:
    """What to answer one request with; ``body`` may depend on the request."""

    status: int
    body: Callable[[Received], dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _message(
    request: Received, content: list[dict[str, Any]], stop_reason: str, usage: tuple[int, int]
) -> dict[str, Any]:
    return {
        "id": "msg_01FakeFakeFakeFakeFake",
        "type": "message",
        "role": "assistant",
        "model": request.body.get("model", "claude-test"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": usage[1]},
    }


def tool_use(answer: dict[str, Any], *, usage: tuple[int, int] = (900, 400)) -> Reply:
    """A successful forced tool call whose input is ``answer``."""

    def body(request: Received) -> dict[str, Any]:
        block = {"type": "tool_use", "id": "toolu_01Fake", "name": request.tool_name}
        return _message(request, [{**block, "input": answer}], "tool_use", usage)

    return Reply(200, body)


def stopped(
    stop_reason: str, *, answer: dict[str, Any] | None = None, text: str | None = None
) -> Reply:
    """A reply that ended for ``stop_reason`` (``max_tokens``, ``refusal``…)."""

    def body(request: Received) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if text is not None:
            content.append({"type": "text", "text": text})
        if answer is not None:
            content.append(
                {
                    "type": "tool_use",
                    "id": "toolu_01Fake",
                    "name": request.tool_name,
                    "input": answer,
                }
            )
        return _message(request, content, stop_reason, (900, 64))

    return Reply(200, body)


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        lambda _r: {"type": "error", "error": {"type": kind, "message": message}},
        headers or {},
    )


def slow(seconds: float, then: Reply) -> Reply:
    return Reply(then.status, then.body, then.headers, delay=seconds)


class FakeAnthropic:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Reply] = deque()
        self.requests: list[Received] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # scripting

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        return len(self._script)

    # serving

    async def _messages(self, request: Request) -> Response:
        received = Received(body=await request.json(), headers=dict(request.headers))
        with self._lock:
            self.requests.append(received)
            reply = self._script.popleft() if self._script else None
        if reply is None:
            return JSONResponse(
                {"type": "error", "error": {"type": "api_error", "message": "unscripted request"}},
                status_code=500,
                headers={"x-should-retry": "false"},
            )
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return JSONResponse(reply.body(received), status_code=reply.status, headers=reply.headers)

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", ws="none", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Anthropic server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
