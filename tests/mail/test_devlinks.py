"""Development's stand-ins for the storefront pages that email links open: each opens
GraphiQL with the page's mutation and the link's token filled in."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from app.core.config import Environment, Settings
from app.main import create_app


async def test_a_reset_link_opens_graphiql_with_its_mutation_and_token(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/reset-password", params={"token": "the-link-token"})
    assert page.status_code == 303
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    location = urlsplit(page.headers["location"])
    assert location.path == "/graphql"
    query = parse_qs(location.query)
    assert query["q"][0].startswith("mutation ResetPassword(")
    variables = json.loads(query["variables"][0])
    assert variables["input"]["token"] == "the-link-token"


async def test_the_stand_ins_are_not_served_in_production(settings: Settings, app: FastAPI) -> None:
    production = settings.model_copy(
        update={"env": Environment.PRODUCTION, "public_url": "https://shop.example"}
    )
    transport = httpx.ASGITransport(app=create_app(production, database=app.state.database))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/verify-email", "/reset-password", "/unsubscribe"):
            assert (await client.get(path, params={"token": "t"})).status_code == 404
