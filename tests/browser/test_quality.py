"""The quality bars of the explorer: accessibility (axe-core, keyboard, visible focus), a
390 px-wide screen, the weight of the initial JavaScript and the time to a useful page."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from tests.e2e.serve import Served

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = [
    "/app/",
    "/app/?tradition=Stoicism",
    "/app/concepts/categorical-imperative",
    "/app/concepts/forms/graph",
    "/app/path?from=dasein&to=eudaimonia&go=1",
    "/app/signin",
    "/app/signup",
    "/app/admin",
    "/app/no/such/page",
]
INITIAL_JS_LIMIT = 250 * 1024
FIRST_RENDER_LIMIT_MS = 1000


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy=true]")).to_have_count(0)


def axe_violations(page: Page) -> list[dict[str, object]]:
    # Injected through the DevTools protocol (not a <script>), so the page's CSP stays as
    # it is; axe-core comes from web/node_modules, not from a CDN.
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in web/ (make test does)")
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations(page: Page, served: Served) -> None:
    for path in PAGES:
        page.goto(f"{served}{path}")
        settle(page)
        assert axe_violations(page) == [], path


def test_graphiql_has_no_serious_accessibility_violations(page: Page, served: Served) -> None:
    page.goto(f"{served}/graphql")
    expect(page.locator(".graphiql-tab").first).to_be_visible()
    expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []


def test_usable_at_390_px(browser: Browser, served: Served) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        for path in PAGES:
            page.goto(f"{served}{path}")
            settle(page)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, f"{path} scrolls sideways ({width} px)"
            assert axe_violations(page) == [], f"{path} at 390 px"
        page.goto(f"{served}/app/")
        page.get_by_role("searchbox").fill("dasein")
        page.get_by_role("link", name="Dasein", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dasein")
        box = page.get_by_role("heading", level=1).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    finally:
        context.close()


def test_keyboard_only_with_visible_focus(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/")
    settle(page)
    page.keyboard.press("Shift+Tab")  # from the search box (focused at load) back to the top
    page.keyboard.press("Shift+Tab")
    for _ in range(10):
        if page.evaluate("() => document.activeElement?.className") == "skip":
            break
        page.keyboard.press("Shift+Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    search = page.get_by_role("searchbox")
    search.focus()
    page.keyboard.type("eudaimonia")
    expect(page.locator(".results li").first).to_contain_text("Eudaimonia")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement?.textContent")
    assert focused == "Eudaimonia", focused
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Eudaimonia")


def test_initial_javascript_is_small_and_the_graph_loads_lazily(
    context: BrowserContext, served: Served
) -> None:
    page = context.new_page()
    scripts: dict[str, int] = {}

    def record(response: Response) -> None:
        if response.url.endswith(".js"):
            scripts[response.url] = len(gzip.compress(response.body(), 9))

    page.on("response", record)
    page.goto(f"{served}/app/")
    settle(page)
    total = sum(scripts.values())
    assert 0 < total < INITIAL_JS_LIMIT, scripts
    assert not [u for u in scripts if "GraphView" in u], "cytoscape loads only with a graph"
    page.goto(f"{served}/app/concepts/forms/graph")
    expect(page.get_by_test_id("graph")).to_be_visible()
    assert [u for u in scripts if "GraphView" in u]
    page.close()


def test_first_meaningful_render_within_a_second(browser: Browser, served: Served) -> None:
    times = []
    for _ in range(3):  # a fresh browser cache each time; the best of three on a busy machine
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{served}/app/concepts/categorical-imperative", wait_until="commit")
            page.locator(".thesis").first.wait_for()
            times.append(page.evaluate("() => performance.now()"))
        finally:
            context.close()
    assert min(times) < FIRST_RENDER_LIMIT_MS, times
