"""The database session under a database that stops answering: every request ends by its
deadline (DB_STATEMENT_TIMEOUT_MS plus a small margin) with SERVICE_UNAVAILABLE, whatever
it was waiting for (a statement on an open connection, a new connection, a pooled one),
and the API recovers alone once the database answers again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.db.session import Database
from tests.books.factory import Catalog
from tests.conftest import new_admin
from tests.proxy import DatabaseProxy, proxied_client
from tests.support import LOGIN, PASSWORD, GraphQL, add_to_cart, data, register

pytestmark = pytest.mark.committing  # the proxied app commits through its own pool

BOOKS = "{ books(first: 2) { edges { node { title } } } }"  # the catalog fast path
STATEMENT_TIMEOUT_MS = 300
# Seconds. The deadline is the statement timeout plus a one-second margin (1.3 s): this is
# far from the minute a frozen database used to hold requests for, and well above the
# deadline so that a busy machine doesn't fail the test.
BOUND = 8.0


@pytest.fixture
def impatient(settings: Settings) -> Settings:
    # A small statement timeout keeps the test short; a small pool makes requests queue.
    return settings.model_copy(
        update={
            "db_statement_timeout_ms": STATEMENT_TIMEOUT_MS,
            "db_pool_size": 2,
            "db_max_overflow": 1,
        }
    )


@pytest.fixture
async def proxied(
    impatient: Settings, database: Database
) -> AsyncIterator[tuple[httpx.AsyncClient, DatabaseProxy]]:
    async with proxied_client(impatient) as client_and_proxy:  # `database`: truncated after
        yield client_and_proxy


async def test_a_frozen_database_answers_service_unavailable_by_the_deadline(
    proxied: tuple[httpx.AsyncClient, DatabaseProxy],
) -> None:
    client, proxy = proxied
    gql = GraphQL(client)
    account = await register(gql)  # the pool now holds open connections
    token = account["accessToken"]
    email = account["user"]["email"]
    sign_in = {"query": LOGIN, "variables": {"input": {"email": email, "password": PASSWORD}}}
    assert data((await client.post("/graphql", json=sign_in)).json())["login"]

    proxy.freeze()

    async def timed(send: Any) -> tuple[float, httpx.Response]:
        started = time.monotonic()
        response = await send
        return time.monotonic() - started, response

    bearer = {"Authorization": f"Bearer {token}"}
    requests = [
        client.post("/graphql", json={"query": BOOKS}),  # the fast path
        client.post("/graphql", json={"query": "{ genres { name } }"}),
        client.post("/graphql", json=sign_in),  # a mutation of several statements
        client.post(
            "/graphql", json={"query": "{ me { email } cart { totalQuantity } }"}, headers=bearer
        ),
        *(client.post("/graphql", json={"query": "{ genres { slug } }"}) for _ in range(4)),
        client.get("/health/ready"),
    ]
    async with asyncio.timeout(2 * BOUND):  # without the deadlines they would hang
        answers = await asyncio.gather(*(timed(request) for request in requests))
    for elapsed, response in answers:
        assert elapsed < BOUND, (response.request.url, elapsed)
        # 503: the request's deadline answered, not one of its statements' time-outs.
        assert response.status_code == 503, response.text
        body = response.json()
        codes = (
            [body["code"]] if "code" in body else [e["extensions"]["code"] for e in body["errors"]]
        )
        assert set(codes) == {"SERVICE_UNAVAILABLE"}, body

    proxy.thaw()  # the database answers again: the API recovers by itself
    recovered = await client.post("/graphql", json=sign_in)
    assert data(recovered.json())["login"]["accessToken"]
    assert (await client.get("/health/ready")).status_code == 200


async def test_connections_cut_in_use_are_replaced_not_handed_out_again(
    settings: Settings, database: Database
) -> None:
    # The catalog page runs on the asyncpg connection directly (`app.db.statements`):
    # a connection that died under it must leave the pool like one that died under
    # SQLAlchemy, or requests arriving less than the pre-ping's idle second apart keep
    # getting it.
    async with proxied_client(settings) as (client, proxy):
        page = {"query": BOOKS}
        assert "errors" not in (await client.post("/graphql", json=page)).json()
        await proxy.stop()  # the database goes away, cutting the pooled connection
        await proxy.start()  # and comes back at once
        # The first may still meet the dead connection: it answers SERVICE_UNAVAILABLE.
        first = (await client.post("/graphql", json=page)).json()
        assert {e["extensions"]["code"] for e in first.get("errors", ())} <= {"SERVICE_UNAVAILABLE"}
        for _ in range(3):
            assert "errors" not in (await client.post("/graphql", json=page)).json()


async def test_a_write_on_a_cut_connection_answers_unavailable_and_the_next_goes_through(
    settings: Settings, database: Database
) -> None:
    # addToCart writes on the asyncpg connection directly, in the session's transaction.
    async with proxied_client(settings) as (client, proxy):
        gql = GraphQL(client)
        book = await Catalog(gql, await new_admin(gql, database, settings)).book()
        token = (await register(gql))["accessToken"]
        assert "errors" not in await add_to_cart(gql, token, book["id"])
        await proxy.stop()
        await proxy.start()
        first = await add_to_cart(gql, token, book["id"])
        assert {e["extensions"]["code"] for e in first.get("errors", ())} <= {"SERVICE_UNAVAILABLE"}
        for _ in range(3):
            assert "errors" not in await add_to_cart(gql, token, book["id"])
