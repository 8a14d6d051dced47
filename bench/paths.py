"""The resolver path against the compiled one, in process: ``python -m bench.paths``.

``bench.run --servers philos,philos-resolvers`` measures both over HTTP under load; on a busy
machine its req/s move with whatever else runs. This script starts the harness's throwaway
PostgreSQL, loads the same generated dataset, builds the app ``philos serve`` builds
(production settings, uvloop, start-up objects frozen) twice — SQL compiler on and off — and
sends each the cold requests of
(a) and (b) straight through the ASGI app, one after another, alternating the two apps in
rounds. It prints the CPU time of this process per request (PostgreSQL's own time is not in
it) and the ratio compiled ÷ resolvers, which is what the resolver path's req/s ratio tends
to when the server is the bottleneck. It times nothing in CI.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop

from bench.database import prepare_data, throwaway_postgres
from bench.documents import Call, asgi_caller, bench_settings, per_request
from bench.load import cycle_of, template
from bench.options import parse_args
from bench.queries import QUERIES, render
from philos.bootstrap import build_stores
from philos.config import Settings
from philos.gateway.app import create_app
from philos.gateway.logs import configure_logging

PATHS = {"compiled": True, "resolvers": False}


def _settings(url: str, data_dir: Path, compiled: bool) -> Settings:
    """``bench.documents``'s production settings, on the harness's PostgreSQL."""
    return bench_settings(data_dir, DATABASE_URL=url, PHILOS_SQL_COMPILE=compiled)


async def _cpu_per_request(call: Call, bodies: list[bytes]) -> float:
    """CPU milliseconds of this process per request over ``bodies``, one after another."""
    return await per_request(call, bodies, clock=time.process_time, unit=1e3)


async def measure(
    url: str, bodies: dict[str, list[bytes]], rounds: int, profile: Path | None = None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        calls: dict[str, Call] = {}
        opened: list[Any] = []
        for name, compiled in PATHS.items():
            settings = _settings(url, Path(tmp), compiled)
            stores = await build_stores(settings)
            opened.append(stores)
            calls[name] = asgi_caller(create_app(settings, stores))
        configure_logging("WARNING")  # as the harness runs Philos: no line per request
        gc.collect()  # as a serving process does after start-up (gateway/app.py)
        gc.freeze()
        try:
            for key, sent in bodies.items():
                size = len(sent) // (rounds + 1)
                chunks = [sent[i * size : (i + 1) * size] for i in range(rounds + 1)]
                for call in calls.values():  # warm-up: first-call caches, pools
                    await _cpu_per_request(call, chunks[0])
                if profile is not None:  # the resolver path under pyinstrument, then stop
                    from pyinstrument import Profiler

                    with Profiler(async_mode="enabled") as profiler:
                        await _cpu_per_request(calls["resolvers"], chunks[1])
                    out = profile.with_name(f"{profile.stem}-{key}.txt")
                    out.write_text(profiler.output_text(unicode=True, show_all=False))
                    flat = profile.with_name(f"{profile.stem}-{key}-flat.txt")  # by own time
                    flat.write_text(profiler.output_text(unicode=True, flat=True))
                    print(f"wrote {out} and {flat}")
                    continue
                best = {name: float("inf") for name in calls}
                for chunk in chunks[1:]:  # requests neither app has answered: cold
                    for name, call in calls.items():
                        best[name] = min(best[name], await _cpu_per_request(call, chunk))
                print(
                    f"({key}) {QUERIES[key].title}: compiled {best['compiled']:.2f} ms, "
                    f"resolvers {best['resolvers']:.2f} ms of CPU per request (best of "
                    f"{rounds} × {size}); ratio compiled/resolvers "
                    f"{best['compiled'] / best['resolvers']:.2f}"
                )
        finally:
            for stores in opened:
                await stores.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=200, help="cold requests per round")
    p.add_argument("--rounds", type=int, default=3, help="rounds; the best is printed")
    p.add_argument("--queries", default="a,b", help="comma list of a,b")
    p.add_argument(
        "--profile",
        type=Path,
        help="instead, profile the resolver path (pyinstrument) into PROFILE-<query>.txt",
    )
    a = p.parse_args()
    opts = parse_args([])
    with throwaway_postgres(opts) as pg:
        pools = prepare_data(opts, pg)
        bodies: dict[str, list[bytes]] = {}
        for key in a.queries.split(","):
            lines, cycle = template(key, "philos"), cycle_of(key, "philos", opts.shape)
            pool = pools[key].lines[: a.requests * (a.rounds + 1)]  # each request once
            bodies[key] = [render(lines(v), cycle[i]) for i, v in enumerate(pool)]
        uvloop.run(measure(pg.url, bodies, a.rounds, a.profile))  # the loop the harness serves on


if __name__ == "__main__":
    main()
