"""How Philos serves the explorer's files: long-lived hashed assets, an index that is always
revalidated, deep links, a CSP the pages satisfy, and nothing outside the bundle."""

from __future__ import annotations

import re

import httpx

from tests.e2e.serve import Served


def get(served: Served, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{served}{path}", headers=headers, timeout=10, follow_redirects=False)


def test_index_is_revalidated_and_assets_are_immutable(served: Served) -> None:
    index = get(served, "/app/")
    assert index.status_code == 200
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/app/assets/[^"]+)"', index.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        answer = get(served, asset)
        assert answer.status_code == 200, asset
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", asset), "names carry a content hash"
    js = get(served, next(a for a in assets if a.endswith(".js")))
    assert js.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")


def test_deep_links_open_the_app(served: Served) -> None:
    index = get(served, "/app/").text
    for path in (
        "/app/concepts/dasein",
        "/app/concepts/forms/graph",
        "/app/path?from=a",
        "/app/x/y/z",
    ):
        answer = get(served, path)
        assert answer.status_code == 200 and answer.text == index, path
        assert answer.headers["cache-control"] == "no-cache"
    assert get(served, "/app").status_code == 308
    assert get(served, "/app").headers["location"] == "/app/"


def test_unknown_or_escaping_asset_names_are_404(served: Served) -> None:
    for path in (
        "/app/assets/nothing-here.js",
        "/app/assets/..%2F..%2Fexplorer.py",
        "/app/assets/%2e%2e/build-info.json",
        "/app/assets/",
    ):
        answer = get(served, path)
        assert answer.status_code == 404, path
        assert answer.json()["errors"][0]["message"]


def test_pages_run_only_their_own_scripts(served: Served) -> None:
    for path in ("/app/", "/graphql"):
        answer = get(served, path, accept="text/html")
        csp = dict(
            d.strip().split(" ", 1) for d in answer.headers["content-security-policy"].split(";")
        )
        assert csp["script-src"] == "'self'", path
        assert csp["connect-src"] == "'self'"
        assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
        assert "<script>" not in answer.text  # no inline script to allow
        assert not re.search(r"https?://(?!127\.0\.0\.1)", answer.text), "nothing from elsewhere"
