"""Plain HTTP routes: health probes, the JSON error convention, request ids, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Environment, Settings
from app.db.session import Database
from app.main import create_app
from tests.proxy import DatabaseProxy, proxied_client
from tests.support import GraphQL, code, error


async def test_live_does_not_touch_the_database(settings: Settings) -> None:
    unreachable = Database.from_settings(
        settings, url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    app = create_app(settings, database=unreachable)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, DatabaseProxy]]:
    async with proxied_client(settings) as client_and_proxy:
        yield client_and_proxy


async def test_ready_reports_database_down_and_recovers_alone(
    proxied: tuple[httpx.AsyncClient, DatabaseProxy],
) -> None:
    client, proxy = proxied
    assert (await client.get("/health/ready")).status_code == 200  # pool now holds a connection

    await proxy.stop()
    down = await client.get("/health/ready")
    assert down.status_code == 503
    assert down.json() == {
        "detail": "Database is unavailable",
        "code": "SERVICE_UNAVAILABLE",
        "field": None,
    }

    login = GraphQL(client)
    query = 'mutation { login(input: {email: "a@example.com", password: "x"}) { accessToken } }'
    failure = error(await login(query))
    assert failure["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert "asyncpg" not in failure["message"]
    # The fast path answers as the regular path does, to which a refused token leaves the
    # request.
    page = "{ books(first: 1) { edges { node { title } } } }"
    fast = await login(page)
    assert error(fast)["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
    assert await login(page, token="not-a-token") == fast

    await proxy.start()  # same port: the database is back
    assert (await client.get("/health/ready")).status_code == 200
    assert code(await login(query)) == "AUTH_INVALID_CREDENTIALS"


async def test_unknown_route_is_json_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "code": "NOT_FOUND", "field": None}


@pytest.mark.parametrize("path", ["/graphql/", "/health/live/", "/graphql/?query={__typename}"])
async def test_no_redirect_reflects_the_host_header(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found", "code": "NOT_FOUND", "field": None}
    assert not any("evil.example" in value for value in response.headers.values())


async def test_wrong_method_is_json_405_with_allow(http: httpx.AsyncClient) -> None:
    response = await http.post("/health/live")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("debug", [False, True])
async def test_unexpected_http_error_is_generic_500(
    settings: Settings, app: FastAPI, debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    broken = create_app(settings.model_copy(update={"debug": debug}), database=app.state.database)

    @broken.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    transport = httpx.ASGITransport(app=broken, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.json() == {  # no traceback, debug or not
        "detail": "Internal server error",
        "code": "INTERNAL_SERVER_ERROR",
        "field": None,
    }
    assert response.headers["x-request-id"] == "trace-500"
    logged = [r for r in caplog.records if r.exc_info and "secret detail" in str(r.exc_info[1])]
    assert [getattr(r, "request_id", None) for r in logged] == ["trace-500"]


async def test_request_id_is_generated_or_echoed(http: httpx.AsyncClient) -> None:
    generated = await http.get("/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await http.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    hostile = await http.get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    assert hostile.headers["x-request-id"] != "bad id\nwith newline"


async def test_cors_allows_configured_origin_only(settings: Settings, app: FastAPI) -> None:
    configured = settings.model_copy(update={"allowed_origins": ["https://shop.example"]})
    cors_app = create_app(configured, database=app.state.database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cors_app), base_url="http://t"
    ) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            "/graphql", headers={"Origin": "https://shop.example", **preflight}
        )
        refused = await client.options(
            "/graphql", headers={"Origin": "https://evil.example", **preflight}
        )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in refused.headers


async def preflights(settings: Settings, database: Database, *origins: str) -> list[httpx.Response]:
    """A browser's preflight for a JSON POST to /graphql, from each origin."""
    cors_app = create_app(settings, database=database)
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,authorization",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cors_app), base_url="http://t"
    ) as client:
        return [
            await client.options("/graphql", headers={"Origin": origin, **preflight})
            for origin in origins
        ]


async def test_development_allows_local_frontends(settings: Settings, app: FastAPI) -> None:
    development = settings.model_copy(update={"env": Environment.DEVELOPMENT})
    local = ["http://localhost:3000", "http://127.0.0.1:5173", "http://localhost"]
    others = ["http://localhost.evil.example:3000", "https://localhost:3000", "http://10.0.0.1"]
    answers = await preflights(development, app.state.database, *local, *others)
    for origin, answer in zip(local, answers[: len(local)], strict=True):
        assert answer.status_code == 200, (origin, answer.text)
        assert answer.headers["access-control-allow-origin"] == origin
    for origin, answer in zip(others, answers[len(local) :], strict=True):
        assert answer.status_code == 400, origin
        assert "access-control-allow-origin" not in answer.headers


async def test_production_allows_only_allowed_origins(settings: Settings, app: FastAPI) -> None:
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    (refused,) = await preflights(production, app.state.database, "http://localhost:3000")
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    listed = production.model_copy(update={"allowed_origins": ["http://localhost:3000"]})
    (allowed,) = await preflights(listed, app.state.database, "http://localhost:3000")
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"


async def test_a_refused_preflight_answers_in_the_error_convention(
    settings: Settings, app: FastAPI
) -> None:
    (refused,) = await preflights(settings, app.state.database, "https://evil.example")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/json"
    body = refused.json()
    assert body == {
        "detail": "This cross-origin request is not allowed (refused: origin)",
        "code": "CORS_NOT_ALLOWED",
        "field": None,
    }
    assert "evil" not in refused.text  # the origin sent is not echoed
