"""Reading the corpus in the explorer: search, facets, a concept page, the graph, a path."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.serve import Served


def test_search_as_you_type_and_open_a_concept(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/")
    search = page.get_by_role("searchbox", name="Search concepts")
    expect(search).to_be_focused()
    search.press_sequentially("categorical imper", delay=20)
    first = page.locator(".results li").first
    expect(first.get_by_role("link")).to_have_text("Categorical imperative")
    expect(page).to_have_url(re.compile(r"\?q=categorical\+imper$"))
    first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/app/concepts/categorical-imperative$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Categorical imperative")
    expect(page.get_by_role("heading", name="Relations")).to_be_visible()
    expect(page.locator(".thesis").first).to_be_visible()
    expect(page.locator(".thesis h4", has_text="For").first).to_be_visible()


def test_facets_narrow_the_list_with_counts(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/")
    expect(page.locator(".count")).to_have_text(re.compile(r"^\d{3} concepts$"))
    tradition = page.locator(".facets button.facet").first
    label = tradition.inner_text()
    name, count = re.match(r"(.+?)\s+(\d+)$", label, re.S).groups()  # type: ignore[union-attr]
    tradition.click()
    expect(page.locator(".count")).to_have_text(f"{count} concept{'s' if count != '1' else ''}")
    expect(page).to_have_url(re.compile(r"tradition="))
    expect(page.locator(".results .meta").first).to_contain_text(name.strip())


def test_follow_a_relation_from_a_deep_link(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/concepts/dasein")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dasein")
    group = page.locator(".relation-group").first
    target = group.get_by_role("link").first
    name = target.inner_text()
    target.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dasein")


def test_the_graph_draws_and_its_nodes_open_concepts(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/concepts/categorical-imperative/graph")
    graph = page.get_by_test_id("graph")
    expect(graph).to_be_visible()
    canvas = graph.locator("canvas").first
    expect(canvas).to_be_attached()
    # Not blank: some pixels of the drawing differ from the background.
    painted = page.wait_for_function(
        """() => {
          const canvases = [...document.querySelectorAll('[data-testid=graph] canvas')];
          return canvases.some(c => {
            const ctx = c.getContext('2d');
            if (!ctx || !c.width) return false;
            const data = ctx.getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
            return ink > 500;
          });
        }"""
    )
    assert painted
    nodes = int(graph.get_attribute("data-nodes") or 0)
    assert nodes > 3
    # Three steps from the Theory of Forms: over a hundred concepts, none drawn over another.
    page.goto(f"{served}/app/concepts/forms/graph")
    page.get_by_label("Depth").select_option("3")
    expect(graph).to_have_attribute("data-nodes", re.compile(r"^[1-9]\d{2,}$"))
    spacing = page.evaluate(
        """() => {
          const cy = document.querySelector('[data-testid=graph]')._cyreg.cy;
          const nodes = cy.nodes();
          let closest = Infinity;
          for (let i = 0; i < nodes.length; i++)
            for (let j = i + 1; j < nodes.length; j++) {
              const a = nodes[i].renderedPosition(), b = nodes[j].renderedPosition();
              closest = Math.min(closest, Math.hypot(a.x - b.x, a.y - b.y));
            }
          return {closest, size: nodes.filter('[root = 0]').first().renderedWidth()};
        }"""
    )
    assert spacing["closest"] > spacing["size"], spacing
    # Click a node: the drawing maps nodes to positions; click the root's neighbour.
    position = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=graph]');
          const cy = el && el._cyreg && el._cyreg.cy;
          const node = cy.nodes('[root = 0]').first();
          const p = node.renderedPosition();
          return {x: p.x, y: p.y, name: node.data('label')};
        }"""
    )
    box = graph.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + position["x"], box["y"] + position["y"])
    expect(page.get_by_role("heading", level=1)).to_have_text(position["name"])


def test_a_path_between_two_concepts(page: Page, served: Served) -> None:
    page.goto(f"{served}/app/concepts/dasein")
    page.get_by_role("link", name="Find a path from here").click()
    expect(page.get_by_role("combobox", name="From")).to_have_value("Dasein")
    to = page.get_by_role("combobox", name="To")
    to.press_sequentially("eudaimonia", delay=20)
    to.press("ArrowDown")
    to.press("ArrowUp")
    expect(page.get_by_role("listbox").get_by_role("option", selected=True)).to_contain_text(
        "Eudaimonia"
    )
    to.press("Enter")  # the keyboard picks the option
    expect(to).to_have_value("Eudaimonia")
    expect(page.get_by_role("combobox", name="From")).to_have_value("Dasein")
    page.get_by_role("button", name="Find path").click()
    expect(page).to_have_url(re.compile(r"from=dasein&to=eudaimonia"))
    steps = page.get_by_role("list", name="The path").get_by_role("listitem")
    expect(steps.first).to_contain_text("Dasein")
    expect(steps.last).to_contain_text("Eudaimonia")
    expect(page.get_by_role("heading", name=re.compile(r"^\d+ steps?$"))).to_be_visible()
    expect(page.get_by_test_id("graph").locator("canvas").first).to_be_attached()
