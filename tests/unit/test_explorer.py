"""The explorer's file server without a build, and with names that try to leave the bundle."""

from __future__ import annotations

from pathlib import Path

from philos.gateway.explorer import IMMUTABLE, Bundle


async def test_an_unbuilt_bundle_says_how_to_build_it(tmp_path: Path) -> None:
    bundle = Bundle(tmp_path)
    page = bundle.page("index.html")
    assert page.status_code == 503
    assert b"make web-build" in page.body
    assert (await bundle.graphiql()).status_code == 503


def test_assets_outside_the_folder_are_not_served(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app-abc123.js").write_text("1")
    (tmp_path / "secret.txt").write_text("no")
    bundle = Bundle(tmp_path)
    served = bundle.asset("assets/app-abc123.js")
    assert served.status_code == 200 and served.headers["cache-control"] == IMMUTABLE
    for name in (
        "assets/../secret.txt",
        "assets/.hidden",
        "assets/",
        "assets/a/b.js",
        "secret.txt",
    ):
        assert bundle.asset(name).status_code == 404, name


def test_a_page_gets_a_csp_for_its_own_inline_scripts(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html><script>let a = 1</script></html>")
    page = Bundle(tmp_path).page("index.html")
    assert page.headers["cache-control"] == "no-cache"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "unsafe-inline'" in csp.split("style-src")[1]
