"""GraphiQL from this repository's own files: the page, its assets and the
Content-Security-Policy that fits exactly what the page loads.

Strawberry's page loads React and GraphiQL from a public CDN, so without internet it stays
a blank "Loading...". The same builds (versions and integrity hashes as Strawberry pins
them) are vendored in `graphiql/vendor/` by `scripts/refresh_graphiql.py`; the page's own
script and styles are files beside them, so no inline script or style is needed.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/graphiql"
ASSETS = Path(__file__).with_name("graphiql")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        # The page's own files only: no inline script, no eval.
        "script-src 'self'",
        # The page's stylesheets, and the one <style> element GraphiQL's dialogs insert to
        # lock scrolling (react-remove-scroll-bar's, with zero gaps: the body never scrolls).
        "style-src 'self' 'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='",
        "img-src data:",  # the stylesheet's inline images, the blank favicon
        "font-src data:",  # the fonts inlined in graphiql.min.css
        # /graphql over HTTP, and over WebSocket for subscriptions (graphql-transport-ws):
        # 'self' covers ws:// and wss:// on the page's own host and port.
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    )
)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Bookstore API · GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading...</div>
{scripts}
  </body>
</html>
"""


def _page() -> str:
    vendored = json.loads((ASSETS / "vendor" / "assets.json").read_text("utf-8"))
    styles, scripts = [], []
    for asset in vendored:
        url = escape(f"{ASSETS_PATH}/vendor/{asset['file']}")
        check = escape(asset["integrity"])
        if asset["file"].endswith(".css"):
            styles.append(f'    <link rel="stylesheet" href="{url}" integrity="{check}">')
        else:
            scripts.append(f'    <script src="{url}" integrity="{check}"></script>')
    styles.append(f'    <link rel="stylesheet" href="{ASSETS_PATH}/graphiql.css">')
    scripts.append(f'    <script src="{ASSETS_PATH}/graphiql.js"></script>')
    return _PAGE.format(styles="\n".join(styles), scripts="\n".join(scripts))


PAGE = _page()


def assets() -> StaticFiles:
    """The page's scripts and styles, at ASSETS_PATH."""
    return StaticFiles(directory=ASSETS)
