"""The explorer at ``/app`` and the GraphiQL page of ``/graphql``: files of the web bundle that
``web/`` builds into ``philos/gateway/static`` (``make web-build``; ``make run`` and
``make test`` build it when its sources changed).

- ``/app/assets/<name>``: content-hashed files, so a year of caching is safe (``immutable``).
- any other ``/app/…`` address: ``index.html``, never cached without asking again
  (``no-cache``), so a deep link such as ``/app/concepts/dasein`` opens the app, which routes
  it, and a new deployment is seen at the next load.
- Pages run only the bundle's own scripts (``script-src 'self'``) and talk only to this
  origin (``connect-src 'self'``): nothing is fetched from anywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from philos.gateway.callers import http_error
from philos.gateway.middleware import page_csp

STATIC = Path(__file__).resolve().with_name("static")
IMMUTABLE = "public, max-age=31536000, immutable"
# One file name under assets/: no separators, no dot-dot, nothing a path could escape with.
_ASSET_RE = re.compile(r"^assets/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\Z")
NOT_BUILT = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Philos</title>"
    "<h1>The explorer is not built</h1><p>Build it with <code>make web-build</code> "
    "(Node 20 and npm), then reload this page.</p></html>"
)


@dataclass(frozen=True)
class Bundle:
    """The built web bundle in ``root``."""

    root: Path = STATIC

    def page(self, name: str) -> Response:
        """An HTML page of the bundle with the CSP its scripts satisfy, or a page saying how
        to build the bundle."""
        path = self.root / name
        try:
            html = path.read_bytes()
        except FileNotFoundError:
            return Response(NOT_BUILT, status_code=503, media_type="text/html")
        return Response(
            html,
            media_type="text/html",
            headers={"cache-control": "no-cache", "content-security-policy": page_csp(html)},
        )

    def asset(self, name: str) -> Response:
        path = self.root / name
        if not _ASSET_RE.match(name) or not path.is_file():
            return http_error(404, f"No such file: /app/{name}")
        return FileResponse(path, headers={"cache-control": IMMUTABLE})

    async def app(self, request: Request) -> Response:
        """``/app/{path}``: an asset, or the app's page for any route it knows or not."""
        path: str = request.path_params.get("path", "")
        if path.startswith("assets/"):
            return self.asset(path)
        return self.page("index.html")

    async def graphiql(self) -> Response:
        return self.page("graphiql.html")


async def app_root(_request: Request) -> Response:
    return RedirectResponse("/app/", status_code=308)
