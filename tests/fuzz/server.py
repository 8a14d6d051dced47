"""A real server for the fuzz tests: uvicorn on 127.0.0.1 in a thread, with its own event loop
and its own SQLite stores (seeded with the small test corpus, with one EDITOR and one ADMIN).

The stores are opened on the server's loop, so generated requests reach the app exactly as a
client's would, and nothing crosses event loops. Rate limits are off: the fuzzers send
thousands of requests from one address. One backend is enough here; the server runs when the
sqlite backend is selected (``PHILOS_TEST_BACKENDS``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from philos.bootstrap import build_stores, create_app
from philos.config import Settings
from philos.datasources.stores import Stores
from philos.domain import Role
from philos.seed.loader import seed
from tests.api.accounts import TOKENS, make_user
from tests.corpus import SMALL_CORPUS
from tests.settings import settings_for

START_TIMEOUT = 30.0


def fuzz_settings(data_dir: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "PHILOS_RATE_LIMIT_IP": 0,
        "PHILOS_RATE_LIMIT_USER": 0,
        # Generated sign-ins fail by the thousand: the throttle would answer most of them.
        "PHILOS_LOGIN_ACCOUNT_FAILURES": 0,
        "PHILOS_LOGIN_CLIENT_FAILURES": 0,
        "PHILOS_REGISTER_LIMIT": 0,
        "PHILOS_SEED_ON_START": False,
        **extra,
    }
    return settings_for(f"sqlite+aiosqlite:///{data_dir / 'philos.db'}", data_dir, **values)


@dataclass
class FuzzServer:
    settings: Settings
    url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    stores: Stores | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _error: BaseException | None = None

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def headers(self, principal: str) -> dict[str, str]:
        """Request headers for ``anonymous``, ``editor`` or ``admin``."""
        if principal == "anonymous":
            return {}
        return {"authorization": f"Bearer {self.tokens[principal]}"}

    async def _main(self) -> None:
        stores = await build_stores(self.settings)
        try:
            await seed(stores, SMALL_CORPUS)
            for role in (Role.EDITOR, Role.ADMIN):
                user = await make_user(stores, role.value.lower(), role)
                self.tokens[role.value.lower()] = TOKENS.issue_access(user)
            # Port 0: the system picks a free one. (A socket bound here and passed to serve()
            # would leave Nagle on for accepted connections: +40 ms per keep-alive request.)
            config = uvicorn.Config(
                create_app(self.settings, stores),
                host="127.0.0.1",
                port=0,
                log_level="warning",
                access_log=False,
                lifespan="on",
                ws="none",
                timeout_graceful_shutdown=2,
            )
            self.stores = stores
            self._server = uvicorn.Server(config)
            await self._server.serve()
        finally:
            await stores.aclose()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start() or stop()
            self._error = exc

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="philos-fuzz", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while self._server is None or not self._server.started:
            if self._error is not None:
                raise RuntimeError("the fuzz server failed to start") from self._error
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fuzz server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            assert not self._thread.is_alive(), "the fuzz server did not stop"
        if self._error is not None:
            raise self._error


def require_sqlite() -> None:
    from tests.services.plugin import backend_enabled

    if not backend_enabled("sqlite"):
        pytest.skip("backend sqlite not selected by PHILOS_TEST_BACKENDS")
