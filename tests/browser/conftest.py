"""The explorer in a real headless Chromium (Debian's ``chromium``, driven by Playwright)
against one real ``philos serve`` on the embedded default, shared by every test here.

The server's AI settings point at the local Messages-API stand-in of ``tests/ai``. Every page
runs in a browser context that lets requests reach 127.0.0.1 only: anything else is aborted
and recorded, and a test fails if its page tried to leave the machine.

The fixtures live as long as this package's tests: Playwright's sync API keeps an event loop
running in this thread while it is open, which the async tests elsewhere could not share.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from tests.ai.fake_anthropic import FakeAnthropic
from tests.e2e.serve import Served, start_server, stop_server

CHROMIUM = os.environ.get("PHILOS_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Offsite:
    """Requests a page tried to send anywhere but loopback (all aborted)."""

    urls: list[str] = field(default_factory=list)


@pytest.fixture(scope="package")
def anthropic_stand_in() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def served(
    tmp_path_factory: pytest.TempPathFactory, anthropic_stand_in: FakeAnthropic
) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("browser-server")
    server = start_server(
        data,
        env={
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": anthropic_stand_in.url,
            "PHILOS_AI_TIMEOUT": "10",
            # One browser signs up and in many times from one address.
            "PHILOS_REGISTER_LIMIT": "0",
            "PHILOS_RATE_LIMIT_IP": "0",
        },
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` (see .ci/run)")
    # Playwright starts it with a new, empty profile of its own (--user-data-dir).
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
    yield browser
    browser.close()


def _loopback_only(offsite: Offsite) -> Callable[[Route], None]:
    def route(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            offsite.urls.append(route.request.url)
            route.abort()

    return route


@pytest.fixture
def offsite() -> Offsite:
    return Offsite()


@pytest.fixture
def context(browser: Browser, offsite: Offsite) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", _loopback_only(offsite))
    yield context
    context.close()
    assert not offsite.urls, f"the page tried to leave the machine: {offsite.urls}"


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    page.set_default_timeout(15000)
    yield page
    page.close()
    # A CSP violation or a script error shows on the console.
    assert not errors, f"the page reported errors: {errors}"


def graphql(
    served: Served, query: str, variables: dict[str, object], token: str = ""
) -> dict[str, Any]:
    """One GraphQL request to the shared server, as another client would send it."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{served}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=10,
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


REGISTER = """mutation($e: String!, $p: String!, $n: String!) {
  register(email: $e, password: $p, displayName: $n) {
    __typename ... on AuthSuccess { accessToken user { id role } } ... on Problem { message } } }"""
PASSWORD = "quiet-lantern-orbit-41"
ADMIN_EMAIL = "admin@philos.test"


@pytest.fixture(scope="package")
def admin_token(served: Served) -> str:
    """The installation's first account, so ADMIN: it stands for the administrator who
    promotes people (the browser's sign-ups come after it, as READERs)."""
    answer = graphql(served, REGISTER, {"e": ADMIN_EMAIL, "p": PASSWORD, "n": "Admin"})
    result = answer["register"]
    assert result["__typename"] == "AuthSuccess" and result["user"]["role"] == "ADMIN", result
    token: str = result["accessToken"]
    return token
