"""GraphiQL works without internet: a real headless Chromium, every request that is not to
the test server refused, renders the page, lists `Query` in the docs pane and runs a query,
under the page's Content-Security-Policy.

Chromium is Debian's package (`.ci/run` installs it); Playwright drives it through its
bundled driver, without a browser download of its own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Page, async_playwright

from app.core.config import Environment, Settings
from app.graphql import ide
from app.main import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000
# Collected before any of the page's scripts run.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "Chromium is missing: apt-get install -y chromium"
    return CHROMIUM


async def test_graphiql_works_offline(live_server: str, chromium: str, tmp_path: Path) -> None:
    refused: list[str] = []
    requested: list[str] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path / "profile",  # a fresh profile
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        try:

            async def only_the_server(route: Any) -> None:
                url = route.request.url
                if url.startswith(f"{live_server}/"):
                    requested.append(url)
                    await route.continue_()
                else:
                    refused.append(url)
                    await route.abort()

            await context.route("**/*", only_the_server)
            await context.add_init_script(WATCH_CSP)
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console: {message.text}") if message.type == "error" else None
                ),
            )

            response = await page.goto(f"{live_server}/graphql")
            assert response is not None and response.status == 200
            assert response.headers["content-security-policy"] == ide.CONTENT_SECURITY_POLICY
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=WAIT_MS)
            assert "Loading..." not in await page.inner_text("#graphiql")

            await docs_list_query(page)
            result = await run_query(page, "{ apiInfo { environment } }")
            assert result["data"] == {"apiInfo": {"environment": "development"}}

            assert problems == []
            # A dialog locks scrolling with a <style> element: the policy allows that one.
            await page.click('button[aria-label="Open settings dialog"]')
            await page.get_by_role("dialog").wait_for(timeout=WAIT_MS)
            await page.keyboard.press("Escape")
            # Subscriptions: graphql-transport-ws on the page's own /graphql, which the
            # policy lets it open; the server's answer shows in the response pane.
            frames = await run_subscription(page, "subscription { orderUpdated { id } }")
            assert frames["sent"][0] == {"type": "connection_init", "payload": {}}
            assert frames["sent"][1]["type"] == "subscribe"
            assert frames["received"][0] == {"type": "connection_ack"}
            assert await page.evaluate("window.__violations") == []
        finally:
            await context.close()
    assert refused == [], "GraphiQL needed the network"
    assert f"{live_server}/graphiql/vendor/graphiql.min.js" in requested


async def docs_list_query(page: Page) -> None:
    await page.click('button[aria-label="Show Documentation Explorer"]', timeout=WAIT_MS)
    docs = page.locator(".graphiql-doc-explorer")
    await docs.get_by_text("Query", exact=True).first.wait_for(timeout=WAIT_MS)


async def run_query(page: Page, query: str) -> Any:
    """Type the query into GraphiQL's editor, run it, and read the response pane."""
    await page.evaluate(
        "(query) => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue(query)",
        query,
    )
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.click(".graphiql-execute-button")
    sent = (await answer.value).request.post_data_json
    assert sent["query"] == query
    await page.wait_for_function(
        "() => document.querySelector('.graphiql-response .CodeMirror')"
        "?.CodeMirror.getValue().includes('environment')",
        timeout=WAIT_MS,
    )
    shown = await page.evaluate(
        "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )
    return json.loads(shown)


async def run_subscription(page: Page, query: str) -> dict[str, list[Any]]:
    """Run a subscription in GraphiQL; the WebSocket's frames once its error is shown."""
    frames: dict[str, list[Any]] = {"sent": [], "received": []}

    def watch(socket: Any) -> None:
        socket.on("framesent", lambda frame: frames["sent"].append(json.loads(frame)))
        socket.on("framereceived", lambda frame: frames["received"].append(json.loads(frame)))

    page.on("websocket", watch)
    await page.evaluate(
        "(query) => document.querySelector('.graphiql-query-editor .CodeMirror')"
        ".CodeMirror.setValue(query)",
        query,
    )
    # GraphiQL tells a subscription from the editor's parsed document, which it updates
    # (and writes into the URL) shortly after an edit.
    await page.wait_for_function(
        "(query) => new URLSearchParams(location.search).get('q') === query",
        arg=query,
        timeout=WAIT_MS,
    )
    await page.click(".graphiql-execute-button")
    # Anonymous: the server refuses the subscription with the error convention.
    await page.wait_for_function(
        "() => document.querySelector('.graphiql-response .CodeMirror')"
        "?.CodeMirror.getValue().includes('AUTH_REQUIRED')",
        timeout=WAIT_MS,
    )
    return frames


def test_vendored_assets_are_the_builds_strawberry_pins() -> None:
    """The files are those of the packages and versions Strawberry's page loads, byte for
    byte (their integrity hashes); after a Strawberry upgrade, refresh them with
    `poetry run python scripts/refresh_graphiql.py`."""
    import strawberry

    page = (Path(strawberry.__file__).parent / "static" / "graphiql.html").read_text("utf-8")
    for asset in json.loads((ide.ASSETS / "vendor" / "assets.json").read_text("utf-8")):
        pinned = f"{asset['package']}@{asset['version']}/{asset['path']}"
        assert pinned in page, f"Strawberry no longer loads {pinned}: refresh the vendored files"
        content = (ide.ASSETS / "vendor" / asset["file"]).read_bytes()
        digest = "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()
        assert digest == asset["integrity"], f"{asset['file']} differs from {pinned}"


async def test_assets_are_served_only_where_graphiql_is(
    live_server: str, settings: Settings, app: FastAPI
) -> None:
    async with httpx.AsyncClient(base_url=live_server) as client:
        script = await client.get("/graphiql/graphiql.js")
        missing = await client.get("/graphiql/nothing.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    transport = httpx.ASGITransport(app=create_app(production, database=app.state.database))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/graphiql/graphiql.js")).status_code == 404
