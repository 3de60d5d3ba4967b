"""Restocks, checkouts and cancellations racing on real connections with real commits."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter

import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import (
    PREBOOK_FIELDS,
    RESTOCK,
    GraphQL,
    add_to_cart,
    checkout,
    data,
    prebook,
    register,
)

pytestmark = pytest.mark.committing

STOCK = "query($id: ID!) { book(id: $id) { stockQuantity } }"
CANCEL = f"mutation($id: ID!) {{ cancelPrebook(id: $id) {{ {PREBOOK_FIELDS} }} }}"
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Prebook {{ {PREBOOK_FIELDS} }} }} }}"


async def customers(gql: GraphQL, count: int) -> list[str]:
    return [
        account["accessToken"]
        for account in await asyncio.gather(*(register(gql) for _ in range(count)))
    ]


async def stock_of(gql: GraphQL, admin_token: str, book_id: str) -> int:
    value: int = data(await gql(STOCK, {"id": book_id}, token=admin_token))["book"]["stockQuantity"]
    return value


async def test_restock_racing_twenty_checkouts(
    catalog: Catalog, gql: GraphQL, admin_token: str, database: Database
) -> None:
    book = await catalog.book("Comeback", stock=20)
    shoppers = await customers(gql, 20)
    for token in shoppers:
        await add_to_cart(gql, token, book["id"])
    async with database.engine.begin() as connection:  # it sells out elsewhere
        await connection.execute(
            text("UPDATE books SET stock_quantity = 0 WHERE title = 'Comeback'")
        )
    waiters = await customers(gql, 3)
    for token in waiters:
        assert "errors" not in await prebook(gql, token, book["id"], 2)

    restock, *checkouts = await asyncio.gather(
        gql(RESTOCK, {"book": book["id"], "quantity": 10}, token=admin_token),
        *(checkout(gql, token) for token in shoppers),
    )
    served = data(restock)["restockBook"]["fulfilledPrebooks"]
    assert len(served) == 3  # every prebook, whatever the interleaving
    outcomes = Counter(
        "OK" if "errors" not in r else r["errors"][0]["extensions"]["code"] for r in checkouts
    )
    assert set(outcomes) <= {"OK", "CART_OUT_OF_STOCK"}
    assert outcomes["OK"] <= 4  # 10 copies - 3 prebooks x 2
    assert await stock_of(gql, admin_token, book["id"]) == 4 - outcomes["OK"]


async def test_concurrent_restocks_serve_each_prebook_once(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book("Trickle", stock=0)
    waiters = await customers(gql, 2)
    for token in waiters:
        await prebook(gql, token, book["id"], 1)
    results = await asyncio.gather(
        *(gql(RESTOCK, {"book": book["id"], "quantity": 1}, token=admin_token) for _ in range(6))
    )
    served = [p["id"] for r in results for p in data(r)["restockBook"]["fulfilledPrebooks"]]
    assert len(served) == len(set(served)) == 2
    assert await stock_of(gql, admin_token, book["id"]) == 4
    for token in waiters:
        orders = data(await gql("{ myOrders { totalCount } }", token=token))["myOrders"]
        assert orders["totalCount"] == 1


async def test_cancel_racing_a_restock_is_one_or_the_other(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    outcomes: Counter[str] = Counter()
    for round_ in range(8):
        book = await catalog.book(f"Race {round_}", stock=0)
        (token,) = await customers(gql, 1)
        made = data(await prebook(gql, token, book["id"], 1))["prebook"]
        await asyncio.gather(
            gql(CANCEL, {"id": made["id"]}, token=token),
            gql(RESTOCK, {"book": book["id"], "quantity": 1}, token=admin_token),
        )
        final = data(await gql(NODE, {"id": made["id"]}, token=token))["node"]
        stock = await stock_of(gql, admin_token, book["id"])
        if final["status"] == "CANCELLED":
            assert final["order"] is None
            assert stock == 1
        else:
            assert final["status"] == "FULFILLED"
            assert final["order"]["status"] == "CONFIRMED"
            assert final["cancelledAt"] is None
            assert stock == 0
        outcomes[final["status"]] += 1
    assert sum(outcomes.values()) == 8


async def fulfil_prebooks(database_url: str) -> tuple[int, str]:
    """Run `poetry run fulfil-prebooks`'s entry point as cron would: (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from app.cli.prebooks import main; main()",
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output, _ = await process.communicate()
    return await process.wait(), output.decode()


async def test_fulfil_prebooks_command(
    catalog: Catalog, gql: GraphQL, admin_token: str, database: Database, settings: Settings
) -> None:
    released = await catalog.book("Release day", stock=0, released_days_ago=-3)
    (token,) = await customers(gql, 1)
    await prebook(gql, token, released["id"], 2)
    await gql(RESTOCK, {"book": released["id"], "quantity": 5}, token=admin_token)  # early stock
    async with database.engine.begin() as connection:  # the release date arrives
        await connection.execute(
            text("UPDATE books SET release_date = current_date WHERE title = 'Release day'")
        )
    status, output = await fulfil_prebooks(settings.database_url or "")
    assert status == 0
    (line,) = output.splitlines()
    assert "served 1 prebook (2 copies), orders: " in line
    assert await stock_of(gql, admin_token, released["id"]) == 3
    status, output = await fulfil_prebooks(settings.database_url or "")
    assert (status, output) == (0, "no released book with stock has waiting prebooks\n")
