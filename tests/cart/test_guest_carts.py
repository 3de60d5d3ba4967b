"""Guest carts: a visitor's cart before signing in, opened by a token sent as X-Cart-Token.

The rules a guest cart shares with a user's (limits, stock, warnings, codes) are tested by
tests/cart/test_cart.py for both; these are what only guest carts have: the token, expiry,
the creation limit, checkout refused, and the walls between carts.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.config import Settings
from app.db.session import Database
from app.main import create_app
from tests.books.factory import Catalog
from tests.support import (
    CART,
    CART_FIELDS,
    CREATE_GUEST_CART,
    GraphQL,
    checkout,
    client_from,
    code,
    data,
    error,
    new_guest_cart,
    register,
)

ADD = f"""mutation($book: ID!, $quantity: Int!) {{
  addToCart(bookId: $book, quantity: $quantity) {{ {CART_FIELDS} }} }}"""
UPDATE = """mutation($book: ID!, $quantity: Int!) {
  updateCartItem(bookId: $book, quantity: $quantity) { totalQuantity } }"""
REMOVE = "mutation($book: ID!) { removeFromCart(bookId: $book) { totalQuantity } }"
CLEAR = "mutation { clearCart { totalQuantity updatedAt } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def guest(token: str) -> dict[str, str]:
    return {"X-Cart-Token": token}


async def as_guest(
    gql: GraphQL, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    return await gql(query, variables, headers=guest(token))


async def make_old(database: Database, token: str, days: int) -> None:
    """The guest cart of `token` as if last used `days` ago."""
    async with database.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE carts SET last_used_at = now() - make_interval(days => :days) "
                "WHERE token_hash = :hash"
            ),
            {"days": days, "hash": hashlib.sha256(token.encode()).hexdigest()},
        )


async def test_the_guest_cart_lifecycle(catalog: Catalog, gql: GraphQL) -> None:
    dune = await catalog.book("Dune", price="12.50", stock=10)
    hobbit = await catalog.book("The Hobbit", price="8.00", stock=10)
    created = data(
        await gql(f"mutation {{ createGuestCart {{ cartToken cart {{ {CART_FIELDS} }} }} }}")
    )
    token, cart = created["createGuestCart"]["cartToken"], created["createGuestCart"]["cart"]
    assert (cart["items"], cart["totalQuantity"], cart["updatedAt"]) == ([], 0, None)

    added = data(await as_guest(gql, token, ADD, {"book": dune["id"], "quantity": 2}))
    assert added["addToCart"]["id"] == cart["id"]
    await as_guest(gql, token, ADD, {"book": hobbit["id"], "quantity": 1})
    await as_guest(gql, token, UPDATE, {"book": dune["id"], "quantity": 3})
    mine = data(await as_guest(gql, token, CART))["cart"]
    assert [(i["book"]["title"], i["quantity"]) for i in mine["items"]] == [
        ("Dune", 3),
        ("The Hobbit", 1),
    ]
    assert (mine["subtotal"], mine["updatedAt"] is not None) == ("45.50", True)
    assert data(await as_guest(gql, token, NODE, {"id": cart["id"]}))["node"] == {
        "__typename": "Cart",
        "id": cart["id"],
    }
    item = mine["items"][0]["id"]
    assert data(await as_guest(gql, token, NODE, {"id": item}))["node"]["id"] == item
    removed = data(await as_guest(gql, token, REMOVE, {"book": hobbit["id"]}))
    assert removed["removeFromCart"]["totalQuantity"] == 3
    cleared = data(await as_guest(gql, token, CLEAR))["clearCart"]
    assert cleared["totalQuantity"] == 0
    # The same page query as before, now for a visitor with a cart: nothing is lost.
    page = await as_guest(gql, token, "{ books(first: 1) { totalCount } me { id } cart { id } }")
    assert page == {"data": {"books": {"totalCount": 2}, "me": None, "cart": {"id": cart["id"]}}}


async def test_the_token_is_opaque_random_and_stored_only_as_its_hash(
    gql: GraphQL, database: Database
) -> None:
    tokens = [await new_guest_cart(gql) for _ in range(3)]
    assert len(set(tokens)) == 3
    assert all(len(base64.urlsafe_b64decode(t + "=")) >= 16 for t in tokens)  # 128+ bits
    async with database.sessionmaker() as session:
        stored = set(
            (
                await session.execute(
                    text("SELECT token_hash FROM carts WHERE token_hash IS NOT NULL")
                )
            ).scalars()
        )
    assert {hashlib.sha256(t.encode()).hexdigest() for t in tokens} <= stored
    assert not stored & set(tokens)


async def test_an_empty_header_is_no_token(gql: GraphQL) -> None:
    assert await gql(CART, headers={"X-Cart-Token": " "}) == {"data": {"cart": None}}


@pytest.mark.parametrize("token", ["x", "A" * 43, "not/a+token=; of ours", "y" * 5000])
async def test_a_token_that_opens_no_cart_is_cart_token_invalid(
    catalog: Catalog, gql: GraphQL, token: str
) -> None:
    book = await catalog.book(stock=5)
    headers = {"X-Cart-Token": token}
    page = await gql("{ books(first: 1) { totalCount } cart { id } }", headers=headers)
    assert page["data"] == {"books": {"totalCount": 1}, "cart": None}
    failure = error(page)
    assert (failure["path"], failure["extensions"]["code"]) == (["cart"], "CART_TOKEN_INVALID")
    assert token not in failure["message"]  # never echoed
    refused = await gql(ADD, {"book": book["id"], "quantity": 1}, headers=headers)
    assert code(refused) == "CART_TOKEN_INVALID"


async def test_checkout_needs_a_signed_in_user(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=5)
    token = await new_guest_cart(gql)
    await as_guest(gql, token, ADD, {"book": book["id"], "quantity": 1})
    refused = await gql(
        "mutation($i: CheckoutInput!) { checkout(input: $i) { id } }",
        {
            "i": {
                "idempotencyKey": "guest-checkout-1",
                "shippingAddress": {
                    "fullName": "A",
                    "line1": "B",
                    "city": "C",
                    "postalCode": "1",
                    "country": "DE",
                },
            }
        },
        headers=guest(token),
    )
    assert code(refused) == "AUTH_REQUIRED"
    assert data(await as_guest(gql, token, CART))["cart"]["totalQuantity"] == 1


async def test_an_expired_guest_cart_is_never_served(
    catalog: Catalog, gql: GraphQL, database: Database, settings: Settings
) -> None:
    book = await catalog.book(stock=5)
    token = await new_guest_cart(gql)
    await as_guest(gql, token, ADD, {"book": book["id"], "quantity": 1})
    await make_old(database, token, settings.guest_cart_ttl_days + 1)
    assert code(await as_guest(gql, token, CART)) == "CART_TOKEN_INVALID"
    refused = await as_guest(gql, token, ADD, {"book": book["id"], "quantity": 1})
    assert code(refused) == "CART_TOKEN_INVALID"
    customer = (await register(gql))["accessToken"]
    merge = "mutation($t: String!) { mergeGuestCart(cartToken: $t) { totalQuantity } }"
    assert code(await gql(merge, {"t": token}, token=customer)) == "CART_TOKEN_INVALID"


async def test_a_read_marks_the_cart_used(
    gql: GraphQL, database: Database, settings: Settings
) -> None:
    token = await new_guest_cart(gql)
    await make_old(database, token, settings.guest_cart_ttl_days - 1)
    await as_guest(gql, token, CART)
    async with database.sessionmaker() as session:
        fresh = await session.scalar(
            text(
                "SELECT now() - last_used_at < interval '1 hour' FROM carts WHERE token_hash = :h"
            ),
            {"h": hashlib.sha256(token.encode()).hexdigest()},
        )
    assert fresh is True


async def test_a_guest_token_never_reaches_another_cart(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=20)
    alice, bob = await new_guest_cart(gql), await new_guest_cart(gql)
    alices = data(await as_guest(gql, alice, ADD, {"book": book["id"], "quantity": 2}))["addToCart"]
    customer = (await register(gql))["accessToken"]
    users = data(await gql(ADD, {"book": book["id"], "quantity": 3}, token=customer))["addToCart"]
    foreign = [alices["id"], alices["items"][0]["id"], users["id"], users["items"][0]["id"]]

    # Bob's token: no other cart by ID, and his changes land in his own cart only.
    assert data(await as_guest(gql, bob, NODES, {"ids": foreign}))["nodes"] == [None] * 4
    await as_guest(gql, bob, CLEAR)
    await as_guest(gql, bob, REMOVE, {"book": book["id"]})
    await as_guest(gql, bob, ADD, {"book": book["id"], "quantity": 1})
    assert data(await as_guest(gql, bob, CART))["cart"]["totalQuantity"] == 1
    assert data(await as_guest(gql, alice, CART))["cart"]["totalQuantity"] == 2
    assert data(await gql(CART, token=customer))["cart"]["totalQuantity"] == 3

    # Guessed cart and line IDs reveal nothing to a guest, nor a guest cart to a user.
    guesses = [
        base64.b64encode(f"{kind}:{n}".encode()).decode()
        for kind in ("Cart", "CartItem")
        for n in range(1, 40)
    ]
    bobs = data(await as_guest(gql, bob, CART))["cart"]
    visible = {
        n["id"] for n in data(await as_guest(gql, bob, NODES, {"ids": guesses}))["nodes"] if n
    }
    assert visible <= {bobs["id"], bobs["items"][0]["id"]}
    as_user = data(
        await gql(NODES, {"ids": [alices["id"], alices["items"][0]["id"]]}, token=customer)
    )
    assert as_user["nodes"] == [None, None]
    # Anonymous, without a token: nobody's.
    assert data(await gql(NODES, {"ids": foreign}))["nodes"] == [None] * 4


async def test_a_signed_in_request_ignores_the_guest_token_for_its_cart(
    catalog: Catalog, gql: GraphQL
) -> None:
    book = await catalog.book(stock=20)
    token = await new_guest_cart(gql)
    await as_guest(gql, token, ADD, {"book": book["id"], "quantity": 2})
    customer = (await register(gql))["accessToken"]
    both = {"X-Cart-Token": token}
    added = data(await gql(ADD, {"book": book["id"], "quantity": 1}, token=customer, headers=both))
    assert added["addToCart"]["totalQuantity"] == 1  # the user's cart, not the guest's
    cart = data(await gql(CART, token=customer, headers=both))["cart"]
    assert [w["code"] for w in cart["warnings"]] == ["CART_GUEST_NOT_MERGED"]
    assert cart["warnings"][0]["bookId"] is None
    assert data(await as_guest(gql, token, CART))["cart"]["totalQuantity"] == 2  # untouched


async def test_guest_cart_creation_is_limited_per_address(
    app: FastAPI, database: Database, settings: Settings
) -> None:
    limited = create_app(
        settings.model_copy(update={"guest_cart_create_limit": 2}), database=database
    )
    async with (
        client_from(limited, "203.0.113.7") as first,
        client_from(limited, "203.0.113.8") as other,
    ):
        visitor, neighbour = GraphQL(first), GraphQL(other)
        for _ in range(2):
            assert "errors" not in await visitor(CREATE_GUEST_CART)
        refused = await visitor(CREATE_GUEST_CART)
        failure = error(refused)
        assert failure["extensions"]["code"] == "CART_LIMIT_EXCEEDED"
        assert 0 < failure["extensions"]["retryAfter"] <= 3600
        assert refused["data"] == {"createGuestCart": None}
        assert "errors" not in await neighbour(CREATE_GUEST_CART)  # per address


async def test_the_creation_limit_counts_aliases_too(
    app: FastAPI, database: Database, settings: Settings
) -> None:
    limited = create_app(
        settings.model_copy(update={"guest_cart_create_limit": 3}), database=database
    )
    async with client_from(limited, "203.0.113.9") as client:
        aliased = (
            "mutation { "
            + " ".join(f"c{i}: createGuestCart {{ cartToken }}" for i in range(5))
            + " }"
        )
        result = await GraphQL(client)(aliased)
    created = [name for name, value in result["data"].items() if value is not None]
    assert created == ["c0", "c1", "c2"]  # the others fail alone
    assert {e["extensions"]["code"] for e in result["errors"]} == {"CART_LIMIT_EXCEEDED"}


async def test_a_users_cart_keeps_its_id(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book(stock=10)
    customer = (await register(gql))["accessToken"]
    first = data(await gql(CART, token=customer))["cart"]["id"]
    await gql(ADD, {"book": book["id"], "quantity": 1}, token=customer)
    assert "errors" not in await checkout(gql, customer)
    assert data(await gql(CART, token=customer))["cart"]["id"] == first


async def test_browsers_may_send_the_header(database: Database, settings: Settings) -> None:
    shop = create_app(
        settings.model_copy(update={"allowed_origins": ["https://shop.example"]}), database=database
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=shop), base_url="http://t"
    ) as http:
        response = await http.options(
            "/graphql",
            headers={
                "Origin": "https://shop.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-cart-token, content-type",
            },
        )
    assert response.status_code == 200
    assert "x-cart-token" in response.headers["access-control-allow-headers"].lower()
