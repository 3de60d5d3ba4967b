"""The cart: adding, setting, removing, limits, stock, warnings; one per user. Every test
taking `customer_token` runs twice: for a signed-in customer, and for a guest (the token of
a guest cart sent as X-Cart-Token), who gets the same limits, warnings and codes."""

from __future__ import annotations

import base64

import httpx
import pytest

from app.db.session import Database
from tests.books.factory import Catalog, days_from_today
from tests.support import (
    ADD_TO_CART,
    CART,
    CART_FIELDS,
    PASSWORD,
    GraphQL,
    Shopper,
    StatementCounter,
    add_to_cart,
    as_guest,
    checkout,
    code,
    data,
    error,
    login,
    new_guest_cart,
    register,
)

UPDATE = f"""mutation($book: ID!, $quantity: Int!) {{
  updateCartItem(bookId: $book, quantity: $quantity) {{ {CART_FIELDS} }} }}"""
REMOVE = f"mutation($book: ID!) {{ removeFromCart(bookId: $book) {{ {CART_FIELDS} }} }}"
CLEAR = f"mutation {{ clearCart {{ {CART_FIELDS} }} }}"


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQL:
    return Shopper(http)


@pytest.fixture(params=["signed-in", "guest"])
async def customer_token(request: pytest.FixtureRequest, gql: GraphQL) -> str:
    if request.param == "guest":
        return as_guest(await new_guest_cart(gql))
    token: str = (await register(gql))["accessToken"]
    return token


async def test_new_cart_is_empty(gql: GraphQL, customer_token: str) -> None:
    cart = data(await gql(CART, token=customer_token))["cart"]
    assert cart["items"] == []
    assert cart["subtotal"] == "0.00"
    assert cart["totalQuantity"] == 0
    assert cart["warnings"] == []
    assert cart["updatedAt"] is None


async def test_without_a_user_or_a_guest_token_there_is_no_cart(gql: GraphQL) -> None:
    assert await gql(CART) == {"data": {"cart": None}}
    refused = await gql(ADD_TO_CART, {"book": "Qm9vazox", "quantity": 1})
    assert code(refused) == "CART_TOKEN_INVALID"
    assert refused["data"] == {"addToCart": None}


async def test_add_then_add_more_and_totals(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    dune = await catalog.book("Dune", price="12.50", stock=20)
    hobbit = await catalog.book("The Hobbit", price="8.00", stock=20)
    await add_to_cart(gql, customer_token, dune["id"], 2)
    await add_to_cart(gql, customer_token, hobbit["id"])
    cart = data(await add_to_cart(gql, customer_token, dune["id"], 3))["addToCart"]
    assert [(i["book"]["title"], i["quantity"]) for i in cart["items"]] == [
        ("Dune", 5),
        ("The Hobbit", 1),
    ]
    assert cart["items"][0]["unitPrice"] == "12.50"
    assert cart["items"][0]["lineTotal"] == "62.50"
    assert cart["subtotal"] == "70.50"
    assert cart["totalQuantity"] == 6
    assert cart["updatedAt"] is not None


async def test_a_cart_is_read_in_one_statement(
    catalog: Catalog, gql: GraphQL, customer_token: str, statements: StatementCounter
) -> None:
    for title in ("Dune", "The Hobbit", "Emma"):
        await add_to_cart(gql, customer_token, (await catalog.book(title, stock=20))["id"])
    statements.statements.clear()
    cart = data(await gql(CART, token=customer_token))["cart"]
    assert [item["book"]["title"] for item in cart["items"]] == ["Dune", "The Hobbit", "Emma"]
    # The token's check (a worker remembers it for a few seconds; not in the suite), then
    # the cart with its lines.
    assert statements.count == 2, statements.statements


@pytest.mark.parametrize("quantity", [0, -1, 100])
async def test_quantity_must_be_1_to_99(
    catalog: Catalog, gql: GraphQL, customer_token: str, quantity: int
) -> None:
    book = await catalog.book(stock=500)
    failure = error(await add_to_cart(gql, customer_token, book["id"], quantity))
    assert failure["extensions"]["code"] == "CART_QUANTITY_INVALID"
    assert failure["extensions"]["field"] == "quantity"


async def test_line_total_above_99_is_refused(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=500)
    await add_to_cart(gql, customer_token, book["id"], 60)
    assert code(await add_to_cart(gql, customer_token, book["id"], 40)) == "CART_QUANTITY_INVALID"
    cart = data(await gql(CART, token=customer_token))["cart"]
    assert cart["items"][0]["quantity"] == 60  # unchanged


async def test_more_than_stock_is_refused_with_available_quantity(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=3)
    await add_to_cart(gql, customer_token, book["id"], 2)
    failure = error(await add_to_cart(gql, customer_token, book["id"], 2))
    assert failure["extensions"]["code"] == "CART_OUT_OF_STOCK"
    assert failure["extensions"]["availableQuantity"] == 3


async def test_unknown_archived_and_unreleased_books(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    missing = base64.b64encode(b"Book:777777").decode()
    failure = error(await add_to_cart(gql, customer_token, missing))
    assert failure["extensions"] == {"code": "BOOK_NOT_FOUND", "field": "bookId"}
    archived = await catalog.book()
    await catalog.archive(archived["id"])
    assert code(await add_to_cart(gql, customer_token, archived["id"])) == "BOOK_NOT_FOUND"
    upcoming = await catalog.book(stock=10, released_days_ago=-20)
    unreleased = error(await add_to_cart(gql, customer_token, upcoming["id"]))
    assert unreleased["extensions"]["code"] == "BOOK_NOT_RELEASED"
    assert "prebook" in unreleased["message"]
    assert code(await add_to_cart(gql, customer_token, "bad-id")) == "VALIDATION_ERROR"


async def test_update_sets_and_zero_removes(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=10)
    await add_to_cart(gql, customer_token, book["id"], 5)
    cart = data(await gql(UPDATE, {"book": book["id"], "quantity": 2}, token=customer_token))
    assert cart["updateCartItem"]["items"][0]["quantity"] == 2
    too_many = error(await gql(UPDATE, {"book": book["id"], "quantity": 11}, token=customer_token))
    assert too_many["extensions"]["availableQuantity"] == 10
    emptied = data(await gql(UPDATE, {"book": book["id"], "quantity": 0}, token=customer_token))
    assert emptied["updateCartItem"]["items"] == []
    other = await catalog.book(stock=10)
    created = data(await gql(UPDATE, {"book": other["id"], "quantity": 4}, token=customer_token))
    assert created["updateCartItem"]["totalQuantity"] == 4


async def test_remove_and_clear(catalog: Catalog, gql: GraphQL, customer_token: str) -> None:
    first, second = await catalog.book("One"), await catalog.book("Two")
    await add_to_cart(gql, customer_token, first["id"])
    await add_to_cart(gql, customer_token, second["id"])
    after_remove = data(await gql(REMOVE, {"book": first["id"]}, token=customer_token))[
        "removeFromCart"
    ]
    assert [i["book"]["title"] for i in after_remove["items"]] == ["Two"]
    again = data(await gql(REMOVE, {"book": first["id"]}, token=customer_token))["removeFromCart"]
    assert len(again["items"]) == 1  # removing what isn't there is harmless
    cleared = data(await gql(CLEAR, token=customer_token))["clearCart"]
    assert cleared["items"] == []
    assert cleared["updatedAt"] is not None


async def test_at_most_50_lines(catalog: Catalog, gql: GraphQL, customer_token: str) -> None:
    author = await catalog.author()
    books = [await catalog.book(f"Book {i}", authors=[author]) for i in range(51)]
    for book in books[:50]:
        assert "errors" not in await add_to_cart(gql, customer_token, book["id"])
    failure = error(await add_to_cart(gql, customer_token, books[50]["id"]))
    assert failure["extensions"]["code"] == "CART_LIMIT_EXCEEDED"
    assert "errors" not in await add_to_cart(gql, customer_token, books[0]["id"])  # existing line


async def test_warnings_never_block_reading(
    catalog: Catalog, gql: GraphQL, customer_token: str, database: Database
) -> None:
    pricey = await catalog.book("Price Change", price="10.00", stock=10)
    scarce = await catalog.book("Scarce", stock=10)
    withdrawn = await catalog.book("Withdrawn", stock=10)
    for book in (pricey, scarce, withdrawn):
        await add_to_cart(gql, customer_token, book["id"], 4)
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {price: "12.00"}) { id } }',
        {"id": pricey["id"]},
    )
    from sqlalchemy import text

    async with database.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE books SET stock_quantity = 1 WHERE title = 'Scarce'"))
    await catalog.archive(withdrawn["id"])

    cart = data(await gql(CART, token=customer_token))["cart"]
    warnings = {(w["code"], w["bookId"]): w for w in cart["warnings"]}
    assert ("CART_PRICE_CHANGED", pricey["id"]) in warnings
    assert "10.00" in warnings[("CART_PRICE_CHANGED", pricey["id"])]["message"]
    assert warnings[("CART_OUT_OF_STOCK", scarce["id"])]["availableQuantity"] == 1
    assert ("BOOK_NOT_FOUND", withdrawn["id"]) in warnings
    assert len(cart["items"]) == 3
    assert cart["items"][0]["unitPrice"] == "12.00"  # always the current price
    # Changing the line acknowledges the new price: that warning goes away.
    updated = data(await gql(UPDATE, {"book": pricey["id"], "quantity": 3}, token=customer_token))
    codes = {
        w["code"] for w in updated["updateCartItem"]["warnings"] if w["bookId"] == pricey["id"]
    }
    assert "CART_PRICE_CHANGED" not in codes


async def test_cart_follows_the_user_across_sessions(catalog: Catalog, gql: GraphQL) -> None:
    account = await register(gql)
    book = await catalog.book()
    await add_to_cart(gql, account["accessToken"], book["id"], 2)
    await gql("mutation { logoutAll }", token=account["accessToken"])
    again = data(await login(gql, account["user"]["email"], PASSWORD))["login"]
    cart = data(await gql(CART, token=again["accessToken"]))["cart"]
    assert cart["items"][0]["quantity"] == 2
    other = await register(gql)
    assert data(await gql(CART, token=other["accessToken"]))["cart"]["items"] == []


async def test_each_warning_follows_a_change_and_goes_when_the_line_changes(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book("Changing", price="10.00", stock=5)
    await add_to_cart(gql, customer_token, book["id"], 2)

    async def warnings() -> list[str]:
        cart = data(await gql(CART, token=customer_token))["cart"]
        return [w["code"] for w in cart["warnings"] if w["bookId"] == book["id"]]

    async def change(**values: str) -> None:
        update = (
            "mutation($id: ID!, $i: UpdateBookInput!) { updateBook(id: $id, input: $i) { id } }"
        )
        await catalog.run(update, {"id": book["id"], "i": values})

    await change(price="12.00")
    assert await warnings() == ["CART_PRICE_CHANGED"]
    data(await add_to_cart(gql, customer_token, book["id"]))  # adding acknowledges it too
    assert await warnings() == []
    rival = (await register(gql))["accessToken"]
    await add_to_cart(gql, rival, book["id"], 4)
    assert "errors" not in await checkout(gql, rival)
    assert await warnings() == ["CART_OUT_OF_STOCK"]
    data(await gql(UPDATE, {"book": book["id"], "quantity": 1}, token=customer_token))
    assert await warnings() == []
    await change(releaseDate=days_from_today(30))
    assert await warnings() == ["BOOK_NOT_RELEASED"]
