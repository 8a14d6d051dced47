"""Live updates in the explorer: a concept page open in one browser shows what is changed
elsewhere (another person's page, another client's GraphQL request) without a reload, and an
AI job run in the background shows its statuses as it goes. The changes reach the page over
the WebSocket subscriptions on /graphql (graphql-transport-ws)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from tests.ai.fake_anthropic import FakeAnthropic, slow, stopped, tool_use
from tests.ai.helpers import theses_answer, thesis_answer
from tests.browser.conftest import graphql
from tests.browser.test_editing import promote, sign_up
from tests.e2e.serve import Served

CREATE = """mutation($i: CreateConceptInput!) { createConcept(input: $i) {
  __typename ... on ConceptSuccess { concept { id slug version } } ... on Problem { message } } }"""
UPDATE = """mutation($i: UpdateConceptInput!) { updateConcept(input: $i) {
  __typename ... on ConceptSuccess { concept { version } } } }"""
RELATE = """mutation($i: RelateConceptsInput!) { relateConcepts(input: $i) { __typename } }"""
DELETE = """mutation($id: ID!) { deleteConcept(id: $id) { __typename } }"""
GENERATE = """mutation($c: ID!) { generateTheses(conceptId: $c, count: 1) {
  __typename ... on Problem { message } } }"""
FORMS = '{ c: concept(slug: "forms") { id name } }'

# Every text the AI panel's status line shows, in order, kept by the page itself so a state
# that lasts one frame is not missed.
WATCH_STATUS = """() => {
  window.__seen = [];
  const panel = document.querySelector('section.ai');
  const note = () => {
    const text = panel.querySelector('p[role=status]')?.textContent ?? '';
    if (text && window.__seen[window.__seen.length - 1] !== text) window.__seen.push(text);
  };
  new MutationObserver(note).observe(panel, { subtree: true, childList: true, characterData: true });
}"""


class Sockets:
    """The frames of every WebSocket a page opens (Playwright's routes do not see them)."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[tuple[list[str], list[str]]] = []
        page.on("websocket", self._opened)

    def _opened(self, socket: WebSocket) -> None:
        sent: list[str] = []
        received: list[str] = []
        self.sockets.append((sent, received))
        socket.on("framesent", lambda payload: sent.append(str(payload)))
        socket.on("framereceived", lambda payload: received.append(str(payload)))

    def subscribed(self, operation: str, signed_in: bool) -> bool:
        for sent, _ in self.sockets:
            frames = [json.loads(frame) for frame in sent]
            init = next((f for f in frames if f.get("type") == "connection_init"), None)
            if init is None or ("Authorization" in (init.get("payload") or {})) != signed_in:
                continue
            if any(
                f.get("type") == "subscribe"
                and f"subscription {operation}(" in f["payload"]["query"]
                for f in frames
            ):
                return True
        return False

    def wait_for_subscription(self, page: Page, operation: str, signed_in: bool) -> None:
        for _ in range(100):
            if self.subscribed(operation, signed_in):
                # The server registers the subscription as it reads the frame.
                page.wait_for_timeout(300)
                return
            page.wait_for_timeout(100)
        raise AssertionError(f"no {operation} subscription (signed in: {signed_in}) was sent")

    def received(self, field: str) -> bool:
        return any(field in frame for _, received in self.sockets for frame in received)


def new_concept(served: Served, admin_token: str, name: str) -> dict[str, str]:
    slug = f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}"
    answer = graphql(
        served,
        CREATE,
        {"i": {"slug": slug, "name": name, "summary": "Before anyone changed it."}},
        admin_token,
    )["createConcept"]
    assert answer["__typename"] == "ConceptSuccess", answer
    concept: dict[str, str] = answer["concept"]
    return concept


@pytest.fixture
def other_page(browser: Browser) -> Iterator[Page]:
    """A second person's browser, with the same checks as ``page``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not errors, f"the other page reported errors: {errors}"


def test_changes_made_elsewhere_appear_on_an_open_concept_page(
    browser: Browser, page: Page, other_page: Page, served: Served, admin_token: str
) -> None:
    concept = new_concept(served, admin_token, "Wu wei")
    forms = graphql(served, FORMS, {})["c"]

    # A reader, not signed in, has the page open.
    page.goto(f"{served}/app/concepts/{concept['slug']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Wu wei")
    expect(page.get_by_text("No theses yet.")).to_be_visible()
    page.evaluate("() => { window.__same = 'never reloaded'; }")
    notice = page.locator("p.live-notice")
    expect(notice).to_have_attribute("role", "status")
    expect(notice).to_have_attribute("aria-live", "polite")
    expect(notice).to_have_text("")

    # An editor, in a browser of their own, adds a thesis on the same page.
    email = sign_up(other_page, served, "Laozi")
    promote(browser, served, other_page, email)
    other_page.goto(f"{served}/app/concepts/{concept['slug']}")
    statement = "Acting without forcing accomplishes more than striving."
    other_page.get_by_label("Statement").fill(statement)
    other_page.get_by_role("button", name="Add thesis").click()
    expect(other_page.get_by_text(statement)).to_be_visible()
    # Their own edit comes back to them as an event, and is not announced as someone else's.
    expect(other_page.locator("p.live-notice")).to_have_text("")

    expect(page.get_by_text(statement)).to_be_visible()
    expect(notice).to_have_text("Updated just now: the theses changed.")

    # Another client changes the concept and relates it, over plain GraphQL requests.
    version = concept["version"]
    updated = graphql(
        served,
        UPDATE,
        {"i": {"id": concept["id"], "version": version, "summary": "Effortless action."}},
        admin_token,
    )["updateConcept"]
    expect(page.locator(".lead")).to_have_text("Effortless action.")
    expect(notice).to_contain_text("the details changed")
    graphql(
        served,
        RELATE,
        {"i": {"sourceId": concept["id"], "targetId": forms["id"], "type": "OPPOSES"}},
        admin_token,
    )
    relations = page.get_by_role("region", name="Relations")
    expect(relations.get_by_role("link", name=forms["name"])).to_be_visible()
    expect(notice).to_contain_text("the relations changed")

    # A change made while the reader was on another page shows when they come back to it.
    relations.get_by_role("link", name=forms["name"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(forms["name"])
    graphql(
        served,
        UPDATE,
        {
            "i": {
                "id": concept["id"],
                "version": updated["concept"]["version"],
                "summary": "Action that does not force.",
            }
        },
        admin_token,
    )
    page.go_back()
    expect(page.locator(".lead")).to_have_text("Action that does not force.")

    graphql(served, DELETE, {"id": concept["id"]}, admin_token)
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(notice).to_have_text("This concept was deleted just now.")
    assert page.evaluate("() => window.__same") == "never reloaded"


def test_an_ai_job_shows_its_statuses_as_it_runs(
    browser: Browser,
    page: Page,
    served: Served,
    admin_token: str,
    anthropic_stand_in: FakeAnthropic,
) -> None:
    anthropic_stand_in.reset()
    concept = new_concept(served, admin_token, "Ataraxia")
    email = sign_up(page, served, "Epicurus")
    promote(browser, served, page, email)
    sockets = Sockets(page)
    page.goto(f"{served}/app/concepts/{concept['slug']}")
    ai = page.get_by_role("region", name="AI assistance")
    expect(ai).to_be_visible()
    drafts = page.locator(".thesis", has=page.locator(".badge", has_text="draft"))

    # Drafts another editor makes appear too: they are pushed to editors only, so they come
    # over a socket opened with this page's token.
    sockets.wait_for_subscription(page, "ThesisChanged", signed_in=True)
    elsewhere = "Tranquillity is the absence of disturbance in the soul."
    anthropic_stand_in.reply(tool_use({"theses": [thesis_answer(elsewhere)]}))
    answer = graphql(served, GENERATE, {"c": concept["id"]}, admin_token)["generateTheses"]
    assert answer["__typename"] == "GenerateThesesSuccess", answer
    expect(drafts).to_have_count(1)
    expect(page.get_by_text(elsewhere)).to_be_visible()
    assert sockets.received("thesisChanged"), "the change did not come over the socket"

    page.evaluate(WATCH_STATUS)
    anthropic_stand_in.reply(slow(2.5, tool_use(theses_answer(2))))
    ai.get_by_role("button", name="Draft theses").click()
    steps = ai.get_by_role("list", name="Drafting theses: progress")
    current = steps.locator("[aria-current=step]")
    expect(current).to_have_text("running")
    expect(ai.get_by_role("button", name="Drafting…")).to_be_disabled()
    expect(ai.get_by_role("status")).to_contain_text("2 draft theses added below")
    expect(current).to_have_text("succeeded")
    expect(drafts).to_have_count(3)
    seen = page.evaluate("() => window.__seen")
    assert seen == [
        "Drafting theses: queued…",
        "Drafting theses: running…",
        "2 draft theses added below for review: publish or delete each.",
    ], seen

    # A job that fails shows its failure as the synchronous mutation did.
    anthropic_stand_in.reply(stopped("refusal", text="I can't help with that."))
    ai.get_by_role("button", name="Draft theses").click()
    expect(current).to_have_text("failed")
    expect(ai.get_by_role("alert")).not_to_be_empty()
    expect(ai.get_by_role("status")).to_have_count(0)
    expect(drafts).to_have_count(3)
    assert anthropic_stand_in.pending == 0
