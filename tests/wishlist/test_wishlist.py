"""The wishlist: idempotent adds, removal, moving to the cart, limits, Book.inWishlist."""

from __future__ import annotations

import asyncio
import base64

import pytest
from sqlalchemy import text

from app.books.seed import seed_catalog
from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import CART_FIELDS, GraphQL, StatementCounter, code, data, error, register

ADD = "mutation($b: ID!) { addToWishlist(bookId: $b) { id addedAt book { id title availability price } } }"
REMOVE = "mutation($b: ID!) { removeFromWishlist(bookId: $b) }"
MOVE = f"""mutation($b: ID!, $q: Int!) {{
  moveWishlistItemToCart(bookId: $b, quantity: $q) {{ {CART_FIELDS} }} }}"""
WISHLIST = """query($first: Int, $after: String) { wishlist(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id book { title } } } } }"""


async def test_add_is_idempotent_and_lists_newest_first(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    first, second = await catalog.book("First"), await catalog.book("Second", released_days_ago=-30)
    added = data(await gql(ADD, {"b": first["id"]}, token=customer_token))["addToWishlist"]
    again = data(await gql(ADD, {"b": first["id"]}, token=customer_token))["addToWishlist"]
    assert again == added
    upcoming = data(await gql(ADD, {"b": second["id"]}, token=customer_token))["addToWishlist"]
    assert upcoming["book"]["availability"] == "PREORDER"  # upcoming books can be wished for
    listing = data(await gql(WISHLIST, {}, token=customer_token))["wishlist"]
    assert listing["totalCount"] == 2
    assert [e["node"]["book"]["title"] for e in listing["edges"]] == ["Second", "First"]


async def test_remove(catalog: Catalog, gql: GraphQL, customer_token: str) -> None:
    book = await catalog.book()
    item = data(await gql(ADD, {"b": book["id"]}, token=customer_token))["addToWishlist"]
    # The removed item's ID, for client caches to evict.
    assert data(await gql(REMOVE, {"b": book["id"]}, token=customer_token)) == {
        "removeFromWishlist": item["id"]
    }
    missing = error(await gql(REMOVE, {"b": book["id"]}, token=customer_token))
    assert missing["extensions"] == {"code": "WISHLIST_ITEM_NOT_FOUND", "field": "bookId"}


async def test_unknown_or_archived_books(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    ghost = base64.b64encode(b"Book:4242424").decode()
    assert code(await gql(ADD, {"b": ghost}, token=customer_token)) == "BOOK_NOT_FOUND"
    book = await catalog.book("Soon withdrawn")
    await gql(ADD, {"b": book["id"]}, token=customer_token)
    await catalog.archive(book["id"])
    listing = data(await gql(WISHLIST, {}, token=customer_token))["wishlist"]
    assert listing["edges"] == []  # archived books drop out
    assert listing["totalCount"] == 0
    assert code(await gql(ADD, {"b": book["id"]}, token=customer_token)) == "BOOK_NOT_FOUND"


async def test_move_to_cart(catalog: Catalog, gql: GraphQL, customer_token: str) -> None:
    book = await catalog.book(stock=3)
    await gql(ADD, {"b": book["id"]}, token=customer_token)
    refused = error(await gql(MOVE, {"b": book["id"], "q": 5}, token=customer_token))
    assert refused["extensions"]["code"] == "CART_OUT_OF_STOCK"
    still = data(await gql(WISHLIST, {}, token=customer_token))["wishlist"]
    assert still["totalCount"] == 1  # kept: the cart refused it
    cart = data(await gql(MOVE, {"b": book["id"], "q": 2}, token=customer_token))[
        "moveWishlistItemToCart"
    ]
    assert cart["items"][0]["quantity"] == 2
    assert data(await gql(WISHLIST, {}, token=customer_token))["wishlist"]["totalCount"] == 0
    not_there = error(await gql(MOVE, {"b": book["id"], "q": 1}, token=customer_token))
    assert not_there["extensions"]["code"] == "WISHLIST_ITEM_NOT_FOUND"


async def test_move_of_unreleased_book_keeps_it(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(released_days_ago=-10)
    await gql(ADD, {"b": book["id"]}, token=customer_token)
    assert (
        code(await gql(MOVE, {"b": book["id"], "q": 1}, token=customer_token))
        == "BOOK_NOT_RELEASED"
    )
    assert data(await gql(WISHLIST, {}, token=customer_token))["wishlist"]["totalCount"] == 1


async def test_in_wishlist_on_books(catalog: Catalog, gql: GraphQL, customer_token: str) -> None:
    wanted, other = await catalog.book("Wanted"), await catalog.book("Other")
    await gql(ADD, {"b": wanted["id"]}, token=customer_token)
    query = "{ books(orderBy: {field: TITLE, direction: DESC}) { edges { node { title inWishlist } } } }"
    mine = [e["node"] for e in data(await gql(query, token=customer_token))["books"]["edges"]]
    assert mine == [
        {"title": "Wanted", "inWishlist": True},
        {"title": "Other", "inWishlist": False},
    ]
    anonymous = [e["node"]["inWishlist"] for e in data(await gql(query))["books"]["edges"]]
    assert anonymous == [None, None]
    assert other["title"] == "Other"


async def test_wishlist_needs_a_user(gql: GraphQL) -> None:
    assert code(await gql(WISHLIST, {})) == "AUTH_REQUIRED"
    assert code(await gql(ADD, {"b": "Qm9vazox"})) == "AUTH_REQUIRED"


async def test_limit_of_500(gql: GraphQL, database: Database) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=501)
    account = await register(gql)
    # 500 items put in directly (500 mutations would only slow the suite down).
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO wishlist_items (user_id, book_id) SELECT u.id, b.id FROM users u, "
                "(SELECT id FROM books ORDER BY id LIMIT 500) b WHERE u.email = :e"
            ),
            {"e": account["user"]["email"]},
        )
        extra = await session.scalar(text("SELECT max(id) FROM books"))
    extra_id = base64.b64encode(f"Book:{extra}".encode()).decode()
    failure = error(await gql(ADD, {"b": extra_id}, token=account["accessToken"]))
    assert failure["extensions"]["code"] == "WISHLIST_LIMIT_EXCEEDED"
    assert (
        data(await gql(WISHLIST, {}, token=account["accessToken"]))["wishlist"]["totalCount"] == 500
    )


@pytest.mark.parametrize("items", [2, 15])
async def test_wishlist_statement_budget(
    catalog: Catalog, gql: GraphQL, customer_token: str, statements: StatementCounter, items: int
) -> None:
    author = await catalog.author()
    for i in range(items):
        book = await catalog.book(f"W{i}", authors=[author])
        await gql(ADD, {"b": book["id"]}, token=customer_token)
    statements.statements.clear()
    query = "{ wishlist(first: 50) { edges { node { book { title inWishlist authors { name } genres { name } } } } } }"
    assert len(data(await gql(query, token=customer_token))["wishlist"]["edges"]) == items
    # viewer, page, inWishlist, authors, genres
    assert statements.count == 5, statements.statements


@pytest.mark.committing
async def test_concurrent_adds_make_one_item(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book()
    token = (await register(gql))["accessToken"]
    results = await asyncio.gather(*(gql(ADD, {"b": book["id"]}, token=token) for _ in range(8)))
    assert all("errors" not in r for r in results)
    assert len({r["data"]["addToWishlist"]["id"] for r in results}) == 1
    assert data(await gql(WISHLIST, {}, token=token))["wishlist"]["totalCount"] == 1
