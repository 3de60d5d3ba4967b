"""Concurrent cart changes on real connections: adds, merges of one guest cart, and the
guest cart creation limit across instances."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.core.config import Settings
from app.db.session import Database
from app.main import create_app
from tests.books.factory import Catalog
from tests.support import (
    CART,
    PASSWORD,
    GraphQL,
    Shopper,
    add_to_cart,
    as_guest,
    client_from,
    code,
    data,
    new_guest_cart,
    register,
)

pytestmark = pytest.mark.committing


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return Shopper(http)


async def test_concurrent_adds_make_one_line(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=99)
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(add_to_cart(gql, token, book["id"], 3) for _ in range(10)))
    assert all("errors" not in result for result in results)
    cart = data(await gql(CART, token=token))["cart"]
    assert len(cart["items"]) == 1
    assert cart["items"][0]["quantity"] == 30


async def test_concurrent_adds_never_exceed_stock(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=10)
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(add_to_cart(gql, token, book["id"], 3) for _ in range(6)))
    accepted = [r for r in results if "errors" not in r]
    assert len(accepted) == 3  # 3 x 3 = 9 <= 10; a fourth would make 12
    cart = data(await gql(CART, token=token))["cart"]
    assert cart["items"][0]["quantity"] == 9


async def test_stock_can_never_go_negative_in_the_database(
    catalog: Catalog, database: Database
) -> None:
    book = await catalog.book("Backstop", stock=1)
    with pytest.raises(IntegrityError, match="ck_books_stock_not_negative"):
        async with database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE books SET stock_quantity = stock_quantity - 2 WHERE title = :t"),
                {"t": book["title"]},
            )


CREATE = "mutation { createGuestCart { cartToken } }"
LOGIN_WITH_CART = """mutation($input: LoginInput!) {
  login(input: $input) { accessToken cart { totalQuantity items { quantity } } } }"""
MERGE = "mutation($t: String!) { mergeGuestCart(cartToken: $t) { totalQuantity } }"


async def test_two_tabs_signing_in_with_one_guest_cart_merge_it_once(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=50)
    account = await register(gql)
    await add_to_cart(gql, account["accessToken"], book["id"], 1)
    guest = await new_guest_cart(gql)
    await add_to_cart(gql, as_guest(guest), book["id"], 3)
    credentials = {"email": account["user"]["email"], "password": PASSWORD, "cartToken": guest}
    tabs = await asyncio.gather(*(gql(LOGIN_WITH_CART, {"input": credentials}) for _ in range(4)))
    assert all("errors" not in tab for tab in tabs), tabs
    # Every tab signed in; whichever merged first, the others found it merged: 1 + 3, once.
    assert {data(tab)["login"]["cart"]["totalQuantity"] for tab in tabs} == {4}
    cart = data(await gql(CART, token=account["accessToken"]))
    assert [item["quantity"] for item in cart["cart"]["items"]] == [4]
    assert code(await gql("{ cart { id } }", token=as_guest(guest))) == "CART_TOKEN_INVALID"


async def test_concurrent_merges_of_one_guest_cart_merge_it_once(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=50)
    customer = (await register(gql))["accessToken"]
    guest = await new_guest_cart(gql)
    await add_to_cart(gql, as_guest(guest), book["id"], 5)
    results = await asyncio.gather(*(gql(MERGE, {"t": guest}, token=customer) for _ in range(5)))
    assert [data(result)["mergeGuestCart"]["totalQuantity"] for result in results] == [5] * 5


async def test_a_guest_adding_while_the_cart_is_merged_loses_nothing_silently(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=99)
    customer = (await register(gql))["accessToken"]
    guest = await new_guest_cart(gql)
    adds = [add_to_cart(gql, as_guest(guest), book["id"], 1) for _ in range(6)]
    results = await asyncio.gather(gql(MERGE, {"t": guest}, token=customer), *adds)
    merged, added = results[0], results[1:]
    # Each add landed before the merge (and was merged) or found the guest cart gone.
    landed = sum("errors" not in result for result in added)
    assert all("errors" not in r or code(r) == "CART_TOKEN_INVALID" for r in added)
    assert "errors" not in merged
    cart = data(await gql(CART, token=customer))["cart"]
    assert cart["totalQuantity"] == landed


async def test_the_creation_limit_holds_across_instances(settings: Settings) -> None:
    limited = settings.model_copy(update={"guest_cart_create_limit": 3})
    async with AsyncExitStack() as stack:
        apps = [create_app(limited) for _ in range(2)]
        for app in apps:
            await stack.enter_async_context(LifespanManager(app))
        clients = [
            GraphQL(await stack.enter_async_context(client_from(app, "198.51.100.23")))
            for app in apps
        ]
        results = await asyncio.gather(*(clients[i % 2](CREATE) for i in range(8)))
    assert sum("errors" not in result for result in results) == 3
    assert {code(r) for r in results if "errors" in r} == {"CART_LIMIT_EXCEEDED"}
