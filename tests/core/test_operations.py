"""Operations: access log, JSON logs, statement timeout, PgBouncer mode."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from app.books import service as books_service
from app.core.config import Settings
from app.core.logging import JSONFormatter
from app.db.session import Database, client_timeout, connect_args
from app.main import create_app
from tests.support import PASSWORD, GraphQL, code, data, error, register


async def test_one_access_line_per_request_without_secrets(
    gql: GraphQL, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        account = await register(gql)
        await gql("query Me { me { email } }", token=account["accessToken"])
        await gql("query Broken { myOrders { totalCount } }")
        await http.post("/graphql", content="{ apiInfo { version } }")  # no JSON: refused
    lines = [r for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 4
    register_line, me_line, broken_line, refused_line = lines
    assert (refused_line.status, refused_line.error_codes) == (415, ["UNSUPPORTED_MEDIA_TYPE"])
    assert register_line.status == 200
    assert register_line.operation == "mutation"
    assert me_line.operation == "Me"
    assert me_line.user_id is not None
    assert broken_line.error_codes == ["AUTH_REQUIRED"]
    assert broken_line.user_id is None
    assert all(len(line.request_id) == 32 for line in lines)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in lines)
    assert PASSWORD not in logged
    assert account["accessToken"] not in logged


def test_json_log_lines() -> None:
    formatter = JSONFormatter()
    record = logging.LogRecord("app.access", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.request_id = "abc"
    record.status = 200
    record.error_codes = ["X"]
    line = json.loads(formatter.format(record))
    assert line["message"] == "GET / 200"
    assert (line["request_id"], line["status"], line["error_codes"]) == ("abc", 200, ["X"])
    assert line["level"] == "INFO"


def test_production_logs_json_by_default(settings: Settings) -> None:
    production = Settings(
        _env_file=None, env="production", secret_key="s" * 40, database_url=settings.database_url
    )  # type: ignore[call-arg]
    assert production.log_format == "json"
    assert settings.log_format == "text"


async def test_a_query_past_the_statement_timeout_is_service_unavailable(
    settings: Settings, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    impatient = settings.model_copy(update={"db_statement_timeout_ms": 100})
    database = Database.from_settings(impatient)

    async def slow_genres(session: object) -> list[object]:
        from sqlalchemy import text

        await session.execute(text("SELECT pg_sleep(2)"))  # type: ignore[attr-defined]
        return []

    monkeypatch.setattr(books_service, "list_genres", slow_genres)
    try:
        slow_app = create_app(impatient, database=database)
        transport = httpx.ASGITransport(app=slow_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            failure = error(await GraphQL(client)("{ genres { name } }"))
    finally:
        await database.dispose()
    assert failure["extensions"] == {"code": "SERVICE_UNAVAILABLE"}


async def test_pgbouncer_mode(settings: Settings) -> None:
    pooled = settings.model_copy(update={"db_pgbouncer": True})
    args = connect_args(pooled)
    assert args["statement_cache_size"] == 0
    assert args["prepared_statement_cache_size"] == 0
    assert "server_settings" not in args  # PgBouncer refuses unknown startup parameters
    names = {args["prepared_statement_name_func"]() for _ in range(3)}
    assert len(names) == 3  # never the same name twice on a shared server connection
    # The client's deadline: the statement timeout plus a margin, in both modes.
    assert args["command_timeout"] == client_timeout(pooled) == 6.0
    assert connect_args(settings)["command_timeout"] == 6.0
    database = Database.from_settings(pooled)
    try:
        pooled_app = create_app(pooled, database=database)
        transport = httpx.ASGITransport(app=pooled_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (
                data(await GraphQL(client)("{ books { totalCount } }"))["books"]["totalCount"] >= 0
            )
            assert code(await GraphQL(client)("{ myOrders { totalCount } }")) == "AUTH_REQUIRED"
    finally:
        await database.dispose()
