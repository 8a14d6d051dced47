"""Philos's ASGI app under pyinstrument, for ``python -m bench.run --profile QUERY``.

uvicorn serves ``bench.profiled_app:create_app`` (a factory) instead of Philos's own. The
sampler starts with the first HTTP request, so imports and start-up are left out, and stops
at shutdown, writing to ``$BENCH_PROFILE_OUT``:

1. where the busy time went, by area (graphql-core, Strawberry, SQLAlchemy, JSON decoding…);
2. the functions with the most own time;
3. pyinstrument's call tree;

and, next to it, a ``.pyisession`` file that ``pyinstrument --load FILE -r html`` renders
again. Samples are wall-clock. Time the event loop waits for I/O is the own time of
``asyncio.Runner.run`` (uvloop's loop is C) and is reported as idle; the rest is the server
working, or runnable but waiting for its core. Sections 1 and 2 are computed from the raw
samples; pyinstrument's own flat view folds small frames into their callers, which inflates
the loop's share, so it is not used.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.frame import Frame
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from philos.bootstrap import serve_app

__all__ = ["ProfiledApp", "create_app"]


class ProfiledApp:
    def __init__(self, app: ASGIApp, out: Path, interval: float = 0.0005) -> None:
        self.app = app
        self.out = out
        self.profiler = Profiler(interval=interval, async_mode="disabled")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":

            async def receive_and_stop() -> Message:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    self.finish()
                return message

            await self.app(scope, receive_and_stop, send)
            return
        if scope["type"] == "http" and not self.profiler.is_running:
            self.profiler.start()
        await self.app(scope, receive, send)

    def finish(self) -> None:
        if not self.profiler.is_running:
            return
        session = self.profiler.stop()
        tree = self.profiler.output_text(show_all=False)
        root = session.root_frame()
        summary = summarise(root) if root is not None else "no samples"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.out.write_text(summary + "\n\n=== call tree ===\n" + tree)
        session.save(str(self.out.with_suffix(".pyisession")))


IDLE = "idle (event loop waiting for I/O)"


def area(file_path: str, function: str) -> str:
    """The part of the stack a frame belongs to."""
    path = file_path.replace("\\", "/")
    if path.endswith("asyncio/runners.py"):
        return IDLE
    rules = (
        ("/json/", "JSON column decoding (stdlib json, via SQLAlchemy's JSON type)"),
        ("/philos/datasources/sql/", "rows -> domain objects (philos/datasources/sql)"),
        ("/enum.py", "rows -> domain objects (philos/datasources/sql)"),
        ("/philos/types/objects.py", "domain -> Strawberry objects (philos/types/objects.py)"),
        ("/graphql/", "graphql-core execution"),
        ("/strawberry/", "Strawberry (argument conversion, resolver wrappers, HTTP view)"),
        ("/sqlalchemy/", "SQLAlchemy Core (compile, cache keys, connections, result rows)"),
        ("/asyncpg/", "asyncpg"),
        ("/philos/gateway/query_limits.py", "philos query limits (depth, cost)"),
        ("/philos/", "other philos code"),
        ("/starlette/", "Starlette / uvicorn"),
        ("/uvicorn/", "Starlette / uvicorn"),
    )
    for needle, name in rules:
        if needle in path:
            return name
    if function == "_json_decoder":
        return rules[0][1]
    return "other (stdlib, asyncio tasks)"


def summarise(root: Frame, top: int = 30) -> str:
    """Busy time by area and the functions with the most own time, from the raw samples.
    A built-in's time goes to the Python code that called it."""
    areas: defaultdict[str, float] = defaultdict(float)
    functions: defaultdict[str, float] = defaultdict(float)

    def walk(frame: Frame, python_caller: Frame | None) -> None:
        own = frame.time - sum(child.time for child in frame.children)
        is_python = bool(frame.file_path) and frame.file_path != "<built-in>"
        owner = frame if is_python or python_caller is None else python_caller
        if frame.function == "[self]" and python_caller is not None:
            owner = python_caller
        if own > 0:
            areas[area(owner.file_path or "", owner.function or "")] += own
            functions[f"{owner.function}  {owner.file_path_short or owner.file_path}"] += own
        for child in frame.children:
            walk(child, frame if is_python else python_caller)

    walk(root, None)
    total = sum(areas.values())
    busy = total - areas[IDLE]
    lines = [
        f"samples: {total:.2f} s wall-clock; idle {areas[IDLE]:.2f} s; busy {busy:.2f} s",
        "",
        "=== busy time by area ===",
    ]
    for name, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        if name != IDLE and busy > 0:
            lines.append(f"{100 * seconds / busy:5.1f}%  {seconds:7.2f} s  {name}")
    lines += ["", f"=== top {top} functions by own time (% of busy) ==="]
    for name, seconds in sorted(functions.items(), key=lambda item: -item[1])[: top + 1]:
        if "runners.py" in name or busy <= 0:
            continue
        lines.append(f"{100 * seconds / busy:5.1f}%  {name}")
    return "\n".join(lines)


def create_app() -> ProfiledApp:
    out = Path(os.environ.get("BENCH_PROFILE_OUT", "bench/results/profile.txt"))
    return ProfiledApp(serve_app(), out)
