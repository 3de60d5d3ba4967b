"""Checkout, cancellation and status changes racing on real connections with real commits."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import GraphQL, add_to_cart, checkout, data, register

pytestmark = pytest.mark.committing

STOCK = "query($id: ID!) { book(id: $id) { stockQuantity } }"
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { status } }"
SET_STATUS = (
    "mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(id: $id, status: $s) { status } }"
)


async def stock_of(gql: GraphQL, admin_token: str, book_id: str) -> int:
    value: int = data(await gql(STOCK, {"id": book_id}, token=admin_token))["book"]["stockQuantity"]
    return value


async def customers(gql: GraphQL, count: int) -> list[str]:
    accounts = await asyncio.gather(*(register(gql) for _ in range(count)))
    return [account["accessToken"] for account in accounts]


def codes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["errors"][0]["extensions"]["code"] if "errors" in r else "OK" for r in results)


async def test_40_buyers_for_10_copies(catalog: Catalog, gql: GraphQL, admin_token: str) -> None:
    book = await catalog.book("Hot Release", stock=10)
    tokens = await customers(gql, 40)
    for token in tokens:
        assert "errors" not in await add_to_cart(gql, token, book["id"], 1)
    results = await asyncio.gather(*(checkout(gql, token) for token in tokens))
    assert codes(results) == Counter({"OK": 10, "CART_OUT_OF_STOCK": 30})
    assert await stock_of(gql, admin_token, book["id"]) == 0


async def test_opposite_line_order_never_deadlocks(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    first, second = (
        await catalog.book("First", stock=1000),
        await catalog.book("Second", stock=1000),
    )
    alice, bob = await customers(gql, 2)
    for _ in range(15):
        await add_to_cart(gql, alice, first["id"], 2)
        await add_to_cart(gql, alice, second["id"], 1)
        await add_to_cart(gql, bob, second["id"], 2)
        await add_to_cart(gql, bob, first["id"], 1)
        results = await asyncio.gather(checkout(gql, alice), checkout(gql, bob))
        assert codes(list(results)) == Counter({"OK": 2})
    assert await stock_of(gql, admin_token, first["id"]) == 1000 - 15 * 3
    assert await stock_of(gql, admin_token, second["id"]) == 1000 - 15 * 3


async def test_one_key_sent_ten_times_at_once(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book(stock=50)
    (token,) = await customers(gql, 1)
    await add_to_cart(gql, token, book["id"], 2)
    results = await asyncio.gather(
        *(checkout(gql, token, key="same-key-racing") for _ in range(10))
    )
    assert codes(results) == Counter({"OK": 10})
    assert len({r["data"]["checkout"]["id"] for r in results}) == 1
    assert await stock_of(gql, admin_token, book["id"]) == 48
    history = data(await gql("{ myOrders { totalCount } }", token=token))["myOrders"]
    assert history["totalCount"] == 1


async def test_keys_belong_to_one_user_and_the_database_enforces_it(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    book = await catalog.book(stock=50)
    first, second = await customers(gql, 2)
    for token in (first, second):
        await add_to_cart(gql, token, book["id"])
    orders = [
        data(await checkout(gql, t, key="shared-key-42"))["checkout"] for t in (first, second)
    ]
    assert orders[0]["id"] != orders[1]["id"]  # another user's key is no business of mine
    # The backstop: a second order with one user's key is refused by the database itself.
    with pytest.raises(IntegrityError, match="uq_orders_user_id"):
        await copy_order(database, key="shared-key-42")


async def copy_order(database: Database, *, key: str) -> None:
    """Insert a copy of one order with `key` under a new id, straight into the table."""
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO orders SELECT (jsonb_populate_record(NULL::orders,"
                " to_jsonb(o) || jsonb_build_object('id', o.id + 1000000))).*"
                " FROM orders o WHERE idempotency_key = :key LIMIT 1"
            ),
            {"key": key},
        )


async def test_cancel_racing_a_status_change(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book(stock=100)
    (token,) = await customers(gql, 1)
    outcomes = Counter()
    for _ in range(12):
        await add_to_cart(gql, token, book["id"], 2)
        order = data(await checkout(gql, token))["checkout"]
        await gql(SET_STATUS, {"id": order["id"], "s": "CONFIRMED"}, token=admin_token)
        before = await stock_of(gql, admin_token, book["id"])
        cancel, ship = await asyncio.gather(
            gql(CANCEL, {"id": order["id"]}, token=token),
            gql(SET_STATUS, {"id": order["id"], "s": "SHIPPED"}, token=admin_token),
        )
        final = data(
            await gql(
                "query($id: ID!) { order(id: $id) { status } }", {"id": order["id"]}, token=token
            )
        )
        status = final["order"]["status"]
        after = await stock_of(gql, admin_token, book["id"])
        if status == "CANCELLED":
            assert after == before + 2  # returned exactly once
            assert ship["errors"][0]["extensions"]["code"] == "ORDER_INVALID_STATUS_TRANSITION"
        else:
            assert status == "SHIPPED"
            assert after == before
            assert cancel["errors"][0]["extensions"]["code"] == "ORDER_NOT_CANCELLABLE"
        outcomes[status] += 1
    assert sum(outcomes.values()) == 12
