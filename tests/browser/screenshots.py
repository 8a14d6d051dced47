"""Screenshots of the explorer's main views for the README (docs/screenshots/), taken in the
same headless Chromium the browser tests use, against a fresh `philos serve`:

    .venv/bin/python -m tests.browser.screenshots
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import CHROMIUM, FLAGS
from tests.e2e.serve import start_server, stop_server

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWS = [
    ("search.png", "/app/?q=will", ".results li", (1280, 800)),
    ("concept.png", "/app/concepts/categorical-imperative", ".thesis", (1280, 1100)),
    ("graph.png", "/app/concepts/forms/graph", "[data-testid=graph] canvas", (1280, 900)),
    ("path.png", "/app/path?from=dasein&to=eudaimonia&go=1", ".path-list li", (1280, 900)),
    ("mobile.png", "/app/concepts/wu-wei", ".thesis", (390, 844)),
    ("graphiql.png", "/graphql", ".graphiql-query-editor .CodeMirror", (1280, 800)),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data:
        served = start_server(Path(data))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for name, path, ready, (width, height) in VIEWS:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(f"{served}{path}")
                    expect(page.locator(ready).first).to_be_attached(timeout=15000)
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(500)  # the graph layout settles
                    page.screenshot(path=OUT / name)
                    page.close()
                browser.close()
        finally:
            stop_server(served)


if __name__ == "__main__":
    main()
