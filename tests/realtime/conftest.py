"""Two real API servers (`poetry run serve`, uvicorn) on one database, each on a free port:
the subscriptions' tests talk to them over real WebSockets and HTTP, as clients do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from app.core.config import Settings
from app.db.session import Database
from bench.servers import api_command, free_port, running, server_env
from tests.books.factory import Catalog
from tests.conftest import TEST_SECRET_KEY, new_admin
from tests.support import GraphQL

# Small limits, so that the tests reach them; a fast keep-alive, so that one sees it.
LIMITS = {
    "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION": "4",
    "WS_MAX_CONNECTIONS_PER_USER": "3",
    "WS_CONNECTION_INIT_TIMEOUT_SECONDS": "0.5",
    "WS_KEEPALIVE_SECONDS": "0.5",
}


@dataclass(frozen=True)
class Servers:
    a: str
    b: str


@pytest.fixture(scope="session")
async def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Servers]:
    env = server_env(
        ENV="test",
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET_KEY,
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="8",
        ARGON2_PARALLELISM="1",
        RESPONSE_CACHE="false",
        LOG_FORMAT="text",
        DB_POOL_SIZE="5",
        **LIMITS,
    )
    logs = tmp_path_factory.mktemp("realtime-servers")
    ports = free_port(), free_port()
    async with (
        running(api_command(ports[0], 1), env, ports[0], 1, logs / "a.log"),
        running(api_command(ports[1], 1), env, ports[1], 1, logs / "b.log"),
    ):
        yield Servers(*(f"http://127.0.0.1:{port}" for port in ports))


@pytest.fixture(autouse=True)
def _truncated_afterwards(request: pytest.FixtureRequest) -> None:
    """A committing test here (on the servers) has its tables truncated afterwards even
    when it never asks for `database`: what it committed would otherwise stay for the
    tests after it (a mail sender's batch claimed twenty runs' registration emails). Not
    for every committing test of the suite: the README's story builds on its steps."""
    if request.node.get_closest_marker("committing"):
        request.getfixturevalue("database")


@pytest.fixture
async def api(servers: Servers) -> AsyncIterator[GraphQL]:
    """HTTP to server A."""
    async with httpx.AsyncClient(base_url=servers.a, timeout=30) as client:
        yield GraphQL(client)


@pytest.fixture
async def api_b(servers: Servers) -> AsyncIterator[GraphQL]:
    async with httpx.AsyncClient(base_url=servers.b, timeout=30) as client:
        yield GraphQL(client)


@pytest.fixture
async def admin(api: GraphQL, database: Database, settings: Settings) -> str:
    return await new_admin(api, database, settings)


@pytest.fixture
def shelf(api: GraphQL, admin: str) -> Catalog:
    return Catalog(api, admin)
