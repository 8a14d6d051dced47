"""Accounts and editing in the explorer: sign up, become EDITOR (an ADMIN changes the role on
the accounts page), create and edit a concept, meet a version conflict and settle it, add a
thesis, an argument and a relation, sign out and in."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_EMAIL, PASSWORD, graphql
from tests.e2e.serve import Served

CONCEPT = "query($s: String!) { concept(slug: $s) { id version name } }"
UPDATE = """mutation($i: UpdateConceptInput!) { updateConcept(input: $i) {
  __typename ... on ConceptSuccess { concept { version } } } }"""


def sign_up(page: Page, served: Served, name: str) -> str:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@philos.test"
    page.goto(f"{served}/app/signup")
    page.get_by_label("Display name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text(name)
    return email


def sign_in(page: Page, served: Served, email: str) -> None:
    page.goto(f"{served}/app/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def promote(browser: Browser, served: Served, page: Page, email: str) -> None:
    """The ADMIN, in a browser of their own, makes ``email`` an EDITOR on the accounts page;
    the person's app learns it at its next token refresh (here: a reload)."""
    context = browser.new_context()
    try:
        admin = context.new_page()
        sign_in(admin, served, ADMIN_EMAIL)
        admin.get_by_role("link", name="Accounts").click()
        admin.get_by_label("Find by email or name").fill(email)
        role = admin.get_by_label(f"Role of {email}")
        expect(role).to_have_value("READER")
        role.select_option("EDITOR")
        expect(admin.get_by_role("status")).to_contain_text(f"{email} is now editor")
        expect(admin.get_by_role("row")).to_have_count(2)  # the header and the one match
    finally:
        context.close()
    page.reload()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("editor")


def test_sign_up_edit_and_settle_a_conflict(
    browser: Browser, page: Page, served: Served, admin_token: str
) -> None:
    email = sign_up(page, served, "Hypatia")
    account = page.get_by_role("navigation", name="Account")
    expect(account).to_contain_text("reader")
    expect(page.get_by_role("link", name="New concept")).to_have_count(0)

    promote(browser, served, page, email)

    # Create.
    slug = f"sumak-kawsay-{uuid.uuid4().hex[:6]}"
    page.get_by_role("link", name="New concept").click()
    page.get_by_label("Name").fill("Sumak kawsay")
    page.get_by_label("Slug").fill(slug)
    page.get_by_label("Summary").fill("Living well in community and with the land.")
    page.get_by_label("Tradition").fill("Andean philosophy")
    page.get_by_role("button", name="Create concept").click()
    expect(page).to_have_url(re.compile(f"/app/concepts/{slug}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sumak kawsay")

    # A bad edit is refused with a message a person can act on.
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Slug").fill("Not A Slug!")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("slug")
    page.get_by_label("Slug").fill(slug)

    # Someone else saves first: the conflict is shown, and overwriting is a choice.
    concept = graphql(served, CONCEPT, {"s": slug})["concept"]
    graphql(
        served,
        UPDATE,
        {
            "i": {
                "id": concept["id"],
                "version": concept["version"],
                "summary": "Changed elsewhere.",
            }
        },
        admin_token,
    )
    page.get_by_label("Name").fill("Sumak kawsay (buen vivir)")
    page.get_by_role("button", name="Save changes").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_contain_text("Someone else changed this concept")
    page.get_by_role("button", name="Overwrite with my version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sumak kawsay (buen vivir)")
    assert graphql(served, CONCEPT, {"s": slug})["concept"]["version"] == concept["version"] + 2

    # A thesis, an argument for it, and a relation.
    page.get_by_label("Statement").fill("A good life is lived in balance with others and nature.")
    page.get_by_role("button", name="Add thesis").click()
    thesis = page.locator(".thesis").first
    expect(thesis).to_contain_text("in balance with others")
    thesis.get_by_role("textbox", name="Argument").fill("Communities that share land care for it.")
    thesis.get_by_role("button", name="Add argument").click()
    expect(thesis.locator(".arguments").first).to_contain_text("share land")
    thesis.get_by_role("button", name="Remove this argument").click()
    expect(thesis.locator(".arguments").first).not_to_contain_text("share land")

    form = page.get_by_role("form", name="Add a relation")
    form.get_by_label("Relation").select_option("ANALOGOUS_TO")
    form.get_by_role("combobox", name="Related concept").press_sequentially("eudaimonia", delay=20)
    page.get_by_role("option", name=re.compile("^Eudaimonia")).first.click()
    form.get_by_role("button", name="Add relation").click()
    group = page.locator(".relation-group", has_text="analogous to")
    expect(group.get_by_role("link", name="Eudaimonia")).to_be_visible()

    # Deleting asks first, then the concept is gone.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".thesis").first.get_by_role("button", name="Delete thesis").click()
    expect(page.locator(".thesis")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("navigation", name="Concept views").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page).to_have_url(re.compile(r"/app/$"))
    assert graphql(served, CONCEPT, {"s": slug})["concept"] is None

    # Sign out and in again.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert page.evaluate("() => window.sessionStorage.getItem('philos.refresh')") is None
    sign_in(page, served, email)
    expect(account).to_contain_text("editor")
