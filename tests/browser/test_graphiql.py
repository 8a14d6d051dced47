"""GraphiQL at /graphql works with no network but loopback: its scripts, styles and fonts
are Philos's own, and the README's example queries are its tabs."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import Offsite
from tests.e2e.serve import Served

README = Path(__file__).resolve().parents[2] / "README.md"


def test_graphiql_renders_and_runs_a_readme_example(
    page: Page, served: Served, offsite: Offsite
) -> None:
    page.goto(f"{served}/graphql")
    examples = len(re.findall(r"^```graphql$", README.read_text(), flags=re.M))
    assert examples >= 5
    tabs = page.locator(".graphiql-tab")
    expect(tabs).to_have_count(examples)
    expect(page.locator(".graphiql-query-editor")).to_contain_text("concepts(filter: {tags")
    page.get_by_role("button", name=re.compile("Execute query")).click()
    expect(page.locator(".result-window")).to_contain_text('"totalCount"', timeout=15000)
    expect(page.locator(".result-window")).not_to_contain_text('"errors"')
    assert not offsite.urls
