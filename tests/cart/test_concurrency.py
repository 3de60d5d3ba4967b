"""Concurrent cart changes on real connections."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import CART_FIELDS, GraphQL, add_to_cart, data, register

pytestmark = pytest.mark.committing


async def test_concurrent_adds_make_one_line(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=99)
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(add_to_cart(gql, token, book["id"], 3) for _ in range(10)))
    assert all("errors" not in result for result in results)
    cart = data(await gql(f"{{ cart {{ {CART_FIELDS} }} }}", token=token))["cart"]
    assert len(cart["items"]) == 1
    assert cart["items"][0]["quantity"] == 30


async def test_concurrent_adds_never_exceed_stock(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=10)
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(add_to_cart(gql, token, book["id"], 3) for _ in range(6)))
    accepted = [r for r in results if "errors" not in r]
    assert len(accepted) == 3  # 3 x 3 = 9 <= 10; a fourth would make 12
    cart = data(await gql(f"{{ cart {{ {CART_FIELDS} }} }}", token=token))["cart"]
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
