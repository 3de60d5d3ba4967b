"""Security headers on every kind of response, and `no-store` on the private ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Response

from app.core.config import Settings
from app.db.session import Database
from app.graphql.http import PersistedQueries
from app.main import create_app
from tests.support import LOGIN, PASSWORD, REGISTER, data, unique_email

BOOKS = "{ books(first: 2) { edges { node { title price } } } }"  # the catalog fast path
EVERYWHERE = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
NO_FRAMING = {"content-security-policy": "frame-ancestors 'none'", "x-frame-options": "DENY"}
POLICY = {"Content-Security-Policy": "default-src 'self'"}


def assert_secured(response: httpx.Response) -> None:
    for name, value in {**EVERYWHERE, **NO_FRAMING}.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "strict-transport-security" not in response.headers  # off unless configured


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The test app, with a route that crashes and a page that brings its own policy."""
    app = create_app(settings, database=database)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/page")
    async def page() -> Response:
        return Response("<p>", media_type="text/html", headers=POLICY)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_every_kind_of_response_is_secured(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = [
        await client.get("/health/live"),
        await client.get("/health/ready"),
        await client.get("/nowhere"),  # 404
        await client.post("/health/live"),  # 405
        await client.get("/boom"),  # 500 of a plain route
        await client.post("/graphql", json={"query": BOOKS}),  # the fast path
        await client.get("/graphql", params={"query": "{ apiInfo { version } }"}),
        await client.post("/graphql", json={"query": "{ nope }"}),  # a GraphQL error
        await client.post("/graphql", content=b"x" * 200_000),  # 413
        await client.post("/graphql", content="{}", headers={"content-type": "text/plain"}),
        await client.put("/graphql"),  # 405 of /graphql
        await client.options(  # a CORS preflight
            "/graphql",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        ),
    ]
    assert [r.status_code for r in responses[:5]] == [200, 200, 404, 405, 500]
    assert responses[8].status_code == 413
    monkeypatch.setattr(PersistedQueries, "resolve", lambda *_: 1 / 0)
    crash = await client.post("/graphql", json={"query": BOOKS})  # 500 of /graphql
    assert crash.status_code == 500
    for response in [*responses, crash]:
        assert_secured(response)


async def test_a_page_with_its_own_policy_keeps_it(client: httpx.AsyncClient) -> None:
    page = await client.get("/page")
    assert page.headers.get_list("content-security-policy") == ["default-src 'self'"]
    assert "x-frame-options" not in page.headers
    for name, value in EVERYWHERE.items():
        assert page.headers[name] == value


async def test_cached_responses_are_secured(settings: Settings) -> None:
    cached = create_app(settings.model_copy(update={"response_cache": True}))
    async with LifespanManager(cached):
        async with asyncio.timeout(5):
            while not cached.state.events.listening:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        transport = httpx.ASGITransport(app=cached)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.post("/graphql", json={"query": BOOKS})
            again = await client.post("/graphql", json={"query": BOOKS})
        assert len(cached.state.graphql.cache) == 1  # `again` came from the cache
    assert again.content == first.content
    assert_secured(first)
    assert_secured(again)
    assert "cache-control" not in again.headers  # public catalog data


async def test_private_responses_are_not_stored(http: httpx.AsyncClient) -> None:
    email = unique_email()
    signed_up = await http.post(
        "/graphql",
        json={
            "query": REGISTER,
            "variables": {"input": {"email": email, "password": PASSWORD, "fullName": "A"}},
        },
    )
    signed_in = await http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": email, "password": PASSWORD}}},
    )
    tokens = data(signed_in.json())["login"]
    refreshed = await http.post(
        "/graphql",
        json={
            "query": "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }",
            "variables": {"t": tokens["refreshToken"]},
        },
    )
    bearer = {"Authorization": f"Bearer {tokens['accessToken']}"}
    me = await http.post("/graphql", json={"query": "{ me { email } }"}, headers=bearer)
    me_by_get = await http.get("/graphql", params={"query": "{ me { email } }"}, headers=bearer)
    catalog_signed_in = await http.post("/graphql", json={"query": BOOKS}, headers=bearer)
    refused = await http.post("/graphql", content=b"x" * 200_000, headers=bearer)
    bad_token = await http.post(
        "/graphql", json={"query": BOOKS}, headers={"Authorization": "Bearer nonsense"}
    )
    for response in [
        signed_up,
        signed_in,
        refreshed,
        me,
        me_by_get,
        catalog_signed_in,
        refused,
        bad_token,
    ]:
        assert response.headers.get_list("cache-control") == ["no-store"], response.request.url
        assert_secured(response)
    anonymous = [
        await http.post("/graphql", json={"query": BOOKS}),
        await http.get("/graphql", params={"query": "{ apiInfo { version } }"}),
        await http.get("/health/live"),
    ]
    for response in anonymous:
        assert "cache-control" not in response.headers


async def test_hsts_when_configured(settings: Settings, database: Database) -> None:
    behind_tls = create_app(
        settings.model_copy(update={"hsts_max_age_seconds": 31_536_000}), database=database
    )
    transport = httpx.ASGITransport(app=behind_tls)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for response in [
            await client.get("/health/live"),
            await client.post("/graphql", json={"query": BOOKS}),
            await client.get("/nowhere"),
        ]:
            assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_the_hsts_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSTS_MAX_AGE_SECONDS", "63072000")
    assert Settings(_env_file=None).hsts_max_age_seconds == 63_072_000  # type: ignore[call-arg]
