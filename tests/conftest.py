"""Test harness: a real PostgreSQL, migrated with Alembic, one rolled-back transaction per test.

* TEST_DATABASE_URL set (environment or .env): a uniquely named database is created on that
  server for the session and dropped at the end (also after failures or Ctrl-C).
* Not set: a throwaway embedded PostgreSQL (pgserver) runs for the session.

Each test's requests share one connection inside a transaction that is rolled back, so tests
are independent. Tests marked `committing` (real commits, real parallel connections) use the
app's pool instead and have every table truncated afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app.core.config import Environment, Settings
from app.core.logging import HANDLER_NAME as LOG_HANDLER_NAME
from app.db import migrations
from app.db.base import Base
from app.db.embedded import EmbeddedPostgres
from app.db.session import Database
from app.main import create_app
from app.users import service as users_service
from app.users.schemas import NewAdminInput
from bench.database import on_server
from bench.servers import api_command, free_port, running, server_env
from tests.books.factory import Catalog
from tests.support import (
    PASSWORD,
    GraphQL,
    StatementCounter,
    data,
    login,
    register,
    run_in_thread,
    unique_email,
)
from tests.support.mail import SmtpCatcher

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-0123456789"


def create_database(server_url: str, prefix: str) -> str:
    """Create a fresh database on the server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_in_thread(asyncio.run, on_server(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    run_in_thread(
        asyncio.run, on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


@pytest.fixture(scope="session", autouse=True)
def _pytest_owns_logging() -> None:
    """Apps built by tests don't add their stream handler: pytest captures the logs."""
    handler = logging.NullHandler()
    handler.set_name(LOG_HANDLER_NAME)
    logging.getLogger().addHandler(handler)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of a maintenance database on the PostgreSQL server the suite uses."""
    configured = Settings().test_database_url
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="bookstore-test-pg-") as data_dir:
        server = EmbeddedPostgres(Path(data_dir) / "data", cleanup="delete")
        try:
            yield server.url("postgres")
        finally:
            server.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    url = create_database(server_url, "bookstore_test")
    try:
        run_in_thread(migrations.upgrade, url)
        yield url
    finally:
        drop_database(server_url, url)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.TEST,
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        # Cheap hashing: the suite registers hundreds of users. Production keeps the
        # library's recommended parameters.
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        # Rolled-back tests never commit, so no invalidation would ever reach a cache.
        # The cache tests turn them on for apps of their own.
        response_cache=False,
        access_cache_ttl_seconds=0,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def database(request: pytest.FixtureRequest, app: FastAPI) -> AsyncIterator[Database]:
    """The database the app uses during this test (see the module docstring)."""
    pooled: Database = app.state.database
    if request.node.get_closest_marker("committing"):
        try:
            yield pooled
        finally:
            await truncate_all(pooled)
        return
    async with pooled.engine.connect() as connection:
        transaction = await connection.begin()
        app.state.database = Database.bound_to(connection)
        try:
            yield app.state.database
        finally:
            app.state.database = pooled
            await transaction.rollback()


async def truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    if not tables:
        return
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def http(app: FastAPI, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return GraphQL(http)


async def new_admin(gql: GraphQL, database: Database, settings: Settings) -> str:
    """Access token of a fresh admin (created the way `poetry run create-admin` does)."""
    email = unique_email("admin")
    async with database.sessionmaker() as session, session.begin():
        await users_service.create_or_promote_admin(
            session,
            settings,
            data=NewAdminInput(email=email, password=PASSWORD, full_name="Admin"),
        )
    token: str = data(await login(gql, email))["login"]["accessToken"]
    return token


@pytest.fixture
async def admin_token(gql: GraphQL, database: Database, settings: Settings) -> str:
    return await new_admin(gql, database, settings)


@pytest.fixture
async def customer_token(gql: GraphQL) -> str:
    token: str = (await register(gql))["accessToken"]
    return token


@pytest.fixture
def catalog(gql: GraphQL, admin_token: str) -> Catalog:
    return Catalog(gql, admin_token)


@pytest.fixture
def statements(database: Database) -> Iterator[StatementCounter]:
    """Statements the app runs during the test (reset it before the part you measure)."""
    counter = StatementCounter()
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture(scope="session")
async def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A real server (`poetry run serve`) in development, GraphiQL on, on a free port."""
    port = free_port()
    env = server_env(
        ENV="development", DATABASE_URL=database_url, RESPONSE_CACHE="false", LOG_FORMAT="text"
    )
    log = tmp_path_factory.mktemp("live-server") / "server.log"
    async with running(api_command(port, 1), env, port, 1, log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    """A real SMTP server, in process, for this test."""
    server = SmtpCatcher()
    try:
        yield server
    finally:
        server.stop()
