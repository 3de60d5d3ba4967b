"""checkout: the order it creates, stock, idempotency, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bench.client import StatementCounter
from bench.scenarios import CHECKOUT_MUTATION
from tests.books.factory import Catalog
from tests.support import (
    ADDRESS,
    CART_FIELDS,
    GraphQL,
    add_to_cart,
    checkout,
    code,
    data,
    error,
)

STOCK = "query($id: ID!) { book(id: $id) { stockQuantity } }"


async def stock_of(gql: GraphQL, admin_token: str, book_id: str) -> int:
    value: int = data(await gql(STOCK, {"id": book_id}, token=admin_token))["book"]["stockQuantity"]
    return value


async def test_checkout_creates_a_pending_order(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    dune = await catalog.book("Dune", price="12.50", stock=10)
    hobbit = await catalog.book("The Hobbit", price="8.00", stock=5)
    await add_to_cart(gql, customer_token, dune["id"], 2)
    await add_to_cart(gql, customer_token, hobbit["id"], 1)
    address = {**ADDRESS, "line2": "3rd floor", "country": "de", "postalCode": "10115"}
    order = data(await checkout(gql, customer_token, address=address))["checkout"]
    assert order["status"] == "PENDING"
    assert (order["subtotal"], order["total"], order["currency"]) == ("33.00", "33.00", "EUR")
    assert order["shippingAddress"] == {**address, "country": "DE"}
    assert [
        (i["title"], i["unitPrice"], i["quantity"], i["lineTotal"]) for i in order["items"]
    ] == [
        ("Dune", "12.50", 2, "25.00"),
        ("The Hobbit", "8.00", 1, "8.00"),
    ]
    assert order["items"][0]["book"]["id"] == dune["id"]
    assert await stock_of(gql, admin_token, dune["id"]) == 8
    assert await stock_of(gql, admin_token, hobbit["id"]) == 4
    cart = data(await gql(f"{{ cart {{ {CART_FIELDS} }} }}", token=customer_token))["cart"]
    assert cart["items"] == []


async def test_empty_cart(gql: GraphQL, customer_token: str) -> None:
    assert code(await checkout(gql, customer_token)) == "CART_EMPTY"


async def test_short_stock_lists_every_short_line_and_changes_nothing(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    plenty = await catalog.book("Plenty", stock=10)
    few = await catalog.book("Few", stock=3)
    none = await catalog.book("None left", stock=2)
    await add_to_cart(gql, customer_token, plenty["id"], 2)
    await add_to_cart(gql, customer_token, few["id"], 3)
    await add_to_cart(gql, customer_token, none["id"], 2)
    from tests.support import register

    rival = (await register(gql))["accessToken"]
    await add_to_cart(gql, rival, few["id"], 2)
    await add_to_cart(gql, rival, none["id"], 2)
    assert "errors" not in await checkout(gql, rival)

    failure = error(await checkout(gql, customer_token))
    assert failure["extensions"]["code"] == "CART_OUT_OF_STOCK"
    lines = sorted(failure["extensions"]["lines"], key=lambda line: int(_db_id(line["bookId"])))
    assert lines == sorted(
        [
            {"bookId": few["id"], "requested": 3, "available": 1},
            {"bookId": none["id"], "requested": 2, "available": 0},
        ],
        key=lambda line: int(_db_id(line["bookId"])),
    )
    assert await stock_of(gql, admin_token, plenty["id"]) == 10  # nothing was taken
    cart = data(await gql(f"{{ cart {{ {CART_FIELDS} }} }}", token=customer_token))["cart"]
    assert len(cart["items"]) == 3  # the cart is kept


def _db_id(global_id: str) -> str:
    import base64

    return base64.b64decode(global_id).decode().split(":")[1]


async def test_archived_and_unreleased_lines_are_refused(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=5)
    await add_to_cart(gql, customer_token, book["id"])
    await catalog.archive(book["id"])
    archived = error(await checkout(gql, customer_token))
    assert archived["extensions"]["code"] == "BOOK_NOT_FOUND"
    assert archived["extensions"]["bookId"] == book["id"]  # a global ID, like everywhere
    await catalog.run("mutation($id: ID!) { unarchiveBook(id: $id) { id } }", {"id": book["id"]})
    from tests.books.factory import days_from_today

    await catalog.run(
        "mutation($id: ID!, $d: Date!) { updateBook(id: $id, input: {releaseDate: $d}) { id } }",
        {"id": book["id"], "d": days_from_today(30)},
    )
    assert code(await checkout(gql, customer_token)) == "BOOK_NOT_RELEASED"


async def test_same_key_returns_the_same_order_once(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book(stock=10)
    await add_to_cart(gql, customer_token, book["id"], 2)
    first = data(await checkout(gql, customer_token, key="retry-key-001"))["checkout"]
    again = data(await checkout(gql, customer_token, key="retry-key-001"))["checkout"]
    assert again["id"] == first["id"]
    assert await stock_of(gql, admin_token, book["id"]) == 8
    orders = data(await gql("{ myOrders { totalCount } }", token=customer_token))["myOrders"]
    assert orders["totalCount"] == 1


async def test_same_key_for_another_checkout_is_refused(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=10)
    await add_to_cart(gql, customer_token, book["id"])
    assert "errors" not in await checkout(gql, customer_token, key="reused-key-01")
    moved = error(
        await checkout(
            gql, customer_token, key="reused-key-01", address={**ADDRESS, "city": "Paris"}
        )
    )
    assert moved["extensions"] == {
        "code": "IDEMPOTENCY_KEY_REUSED",
        "field": "input.idempotencyKey",
    }
    await add_to_cart(gql, customer_token, book["id"], 3)
    new_cart = error(await checkout(gql, customer_token, key="reused-key-01"))
    assert new_cart["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "errors" not in await checkout(gql, customer_token, key="fresh-key-02")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"idempotencyKey": "short"}, "input.idempotencyKey"),
        ({"idempotencyKey": "k" * 256}, "input.idempotencyKey"),
        ({"idempotencyKey": "has spaces in it"}, "input.idempotencyKey"),
        ({"shippingAddress": {**ADDRESS, "country": "XX"}}, "input.shippingAddress.country"),
        ({"shippingAddress": {**ADDRESS, "country": "DEU"}}, "input.shippingAddress.country"),
        ({"shippingAddress": {**ADDRESS, "fullName": " "}}, "input.shippingAddress.fullName"),
        (
            {"shippingAddress": {**ADDRESS, "postalCode": "10115<script>"}},
            "input.shippingAddress.postalCode",
        ),
        ({"shippingAddress": {**ADDRESS, "line1": "x" * 201}}, "input.shippingAddress.line1"),
    ],
)
async def test_checkout_input_validation(
    catalog: Catalog, gql: GraphQL, customer_token: str, changes: dict[str, Any], field: str
) -> None:
    book = await catalog.book(stock=5)
    await add_to_cart(gql, customer_token, book["id"])
    variables = {
        "input": {"idempotencyKey": "valid-key-123", "shippingAddress": ADDRESS, **changes}
    }
    from tests.support import CHECKOUT

    failure = error(await gql(CHECKOUT, variables, token=customer_token))
    assert failure["extensions"]["code"] == "VALIDATION_ERROR"
    assert failure["extensions"]["field"] == field


async def test_checkout_needs_a_user(gql: GraphQL) -> None:
    assert code(await checkout(gql, "")) == "AUTH_REQUIRED"


@pytest.mark.parametrize("lines", [1, 4])
async def test_checkout_statement_budget(
    catalog: Catalog, gql: GraphQL, customer_token: str, statements: StatementCounter, lines: int
) -> None:
    books = [await catalog.book(f"Line {i}", stock=10) for i in range(lines)]
    for book in books:
        await add_to_cart(gql, customer_token, book["id"], 2)
    statements.statements.clear()
    order = data(await checkout(gql, customer_token))["checkout"]
    assert len(order["items"]) == lines
    # The cart's lock; its lines and their books, locked; the stock taken, the order and
    # its lines recorded, the cart emptied and the email queued. Whatever the number of
    # lines. (Then the order's lines and books the response asks for.)
    assert _beyond_the_viewer(statements) == 3 + 2, statements.statements


async def test_the_benchmarks_checkout_request_statement_budget(
    catalog: Catalog, gql: GraphQL, customer_token: str, statements: StatementCounter
) -> None:
    """The benchmark's checkout scenario: a checkout, then the next copy into the cart."""
    book = await catalog.book(stock=10)
    await add_to_cart(gql, customer_token, book["id"])
    statements.statements.clear()
    variables = {"key": "statements-budget", "book": book["id"]}
    result = data(await gql(CHECKOUT_MUTATION, variables, token=customer_token))
    assert result["addToCart"] == {"totalQuantity": 1}
    # checkout: 3 (above); addToCart: the cart's lock, what its rules need (the book, the
    # line, the number of lines), the line; then the cart as it is now (its row and its
    # lines, one statement).
    assert _beyond_the_viewer(statements) == 3 + 3 + 1, statements.statements


def _beyond_the_viewer(statements: StatementCounter) -> int:
    """The request's statements but the viewer's session check (the users tests count it)."""
    return sum(not s.lstrip().startswith("SELECT users.") for s in statements.statements)
