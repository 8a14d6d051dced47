"""What a GraphQL document Philos has never seen costs, in process: ``python -m bench.documents``.

Query (d) cold of ``bench.run`` sends a new document per request (``{ t123: __typename }``),
so every request parses, validates and limit-checks a document no cache holds. This script
times that against one document repeated, on the app ``philos serve`` builds (production
settings, as the harness runs it) over a throwaway SQLite database, calling the ASGI app
directly (no sockets, no HTTP client), and prints microseconds per request and their ratio.
``--profile`` also runs the new documents under cProfile and prints the functions with the
most cumulative time. It times nothing in CI; ``tests/bench/`` only checks that it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from philos.bootstrap import build_stores
from philos.config import Settings
from philos.gateway.app import create_app
from philos.gateway.logs import configure_logging

Call = Callable[[bytes], Awaitable[bytes]]


def bench_settings(data_dir: Path, **extra: object) -> Settings:
    """Production settings as ``bench.run`` gives Philos, on SQLite in ``data_dir``."""
    values: dict[str, object] = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'philos.db'}",
        "PHILOS_DATA_DIR": data_dir,
        "PHILOS_ENV": "production",
        "PHILOS_SEED_ON_START": False,
        "PHILOS_RATE_LIMIT_IP": 0,
        "PHILOS_RATE_LIMIT_USER": 0,
        "PHILOS_LOG_LEVEL": "WARNING",
        "JWT_SECRET": secrets.token_urlsafe(48),
        **extra,
    }
    return Settings(**values)  # type: ignore[arg-type]


def asgi_caller(app: Any) -> Call:
    """POST a JSON body to ``/graphql`` straight through the ASGI app; the response body."""

    async def call(body: bytes) -> bytes:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        sent = False
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        return b"".join(chunks)

    return call


def new_document(index: int) -> bytes:
    return orjson.dumps({"query": f"{{ t{index}: __typename }}"})


async def per_request(
    call: Call,
    bodies: list[bytes],
    clock: Callable[[], float] = time.perf_counter,
    unit: float = 1e6,
) -> float:
    """Time per request over ``bodies``, sent one after another: microseconds of wall time,
    or what ``clock`` measures in ``1/unit`` seconds (``time.process_time``: CPU)."""
    started = clock()
    for body in bodies:
        answer = await call(body)
        if b'"errors"' in answer:
            raise RuntimeError(f"an error answer: {answer[:300]!r}")
    return (clock() - started) * unit / len(bodies)


async def measure(requests: int, rounds: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp))
        stores = await build_stores(settings)
        try:
            call = asgi_caller(create_app(settings, stores))
            repeated = orjson.dumps({"query": "{ __typename }"})
            offset = 0
            for _ in range(2):  # warm-up: imports, first-call caches, the cache entry
                await per_request(call, [repeated] * 200)
                await per_request(call, [new_document(offset + i) for i in range(200)])
                offset += 200
            new_times: list[float] = []
            repeated_times: list[float] = []
            for _ in range(rounds):  # interleaved, so background load hits both alike
                new_times.append(
                    await per_request(call, [new_document(offset + i) for i in range(requests)])
                )
                offset += requests
                repeated_times.append(await per_request(call, [repeated] * requests))
            new_us, repeated_us = min(new_times), min(repeated_times)
            print(f"new document    : {new_us:8.1f} µs/request (best of {rounds} × {requests})")
            print(f"repeated        : {repeated_us:8.1f} µs/request")
            print(f"ratio new/repeated: {new_us / repeated_us:.2f}")
            if profile:
                profiler = cProfile.Profile()
                bodies = [new_document(offset + i) for i in range(requests)]
                profiler.enable()
                await per_request(call, bodies)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
                stats.print_stats(45)
                print(out.getvalue())
        finally:
            await stores.aclose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the new documents")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # as the harness runs Philos: no line per request
    asyncio.run(measure(args.requests, args.rounds, args.profile))


if __name__ == "__main__":
    main()
