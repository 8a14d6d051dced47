"""The AI flows in the explorer, against the local Messages-API stand-in: draft theses and
review them; suggested relations, one accepted and one dismissed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.ai.fake_anthropic import FakeAnthropic, Received, Reply, tool_use
from tests.ai.helpers import theses_answer
from tests.browser.conftest import graphql
from tests.browser.test_editing import promote, sign_up
from tests.e2e.serve import Served

IDS = '{ c: concept(slug: "forms") { id } }'


def suggest_two(target: str) -> Callable[[Received], dict[str, Any]]:
    """Answer with two of the candidates the request offered, both ANALOGOUS_TO ``target``."""

    def body(request: Received) -> dict[str, Any]:
        offered = re.findall(r'<candidate id="([^"]+)"', request.user_text)[:2]
        suggestions = [
            {
                "source_id": source,
                "target_id": target,
                "type": "ANALOGOUS_TO",
                "weight": 0.3,
                "rationale": "Both name an order behind appearances that guides action.",
            }
            for source in offered
        ]
        return tool_use({"suggestions": suggestions}).body(request)

    return body


def test_draft_theses_and_review_relation_suggestions(
    browser: Browser,
    page: Page,
    served: Served,
    admin_token: str,
    anthropic_stand_in: FakeAnthropic,
) -> None:
    anthropic_stand_in.reset()
    email = sign_up(page, served, "Averroes")
    promote(browser, served, page, email)
    ids = graphql(served, IDS, {})
    page.goto(f"{served}/app/concepts/forms")
    ai = page.get_by_role("region", name="AI assistance")

    anthropic_stand_in.reply(tool_use(theses_answer(2)))
    ai.get_by_role("button", name="Draft theses").click()
    expect(ai.get_by_role("status")).to_contain_text("2 draft theses")
    drafts = page.locator(".thesis", has=page.locator(".badge", has_text="draft"))
    expect(drafts).to_have_count(2)
    drafts.first.get_by_role("button", name="Publish").click()
    expect(drafts).to_have_count(1)

    anthropic_stand_in.reply(Reply(200, suggest_two(ids["c"]["id"])))
    ai.get_by_role("button", name="Suggest relations").click()
    suggestions = ai.locator(".suggestions li")
    expect(suggestions).to_have_count(2)
    dismissed, accepted = (
        suggestions.nth(i).get_by_role("link").first.inner_text() for i in (0, 1)
    )
    suggestions.filter(has_text=dismissed).get_by_role("button", name="Dismiss").click()
    expect(suggestions).to_have_count(1)
    suggestions.filter(has_text=accepted).get_by_role("button", name="Accept").click()
    expect(suggestions).to_have_count(0)
    incoming = page.locator(".relation-group", has_text=re.compile("analogous to \\(incoming\\)"))
    expect(incoming.get_by_role("link", name=accepted)).to_be_visible()
    assert anthropic_stand_in.pending == 0
