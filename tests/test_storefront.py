"""A storefront's requests: one query per page that keeps its public data whoever asks, and
mutations that fail alone when a request carries several."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.core.config import Settings
from tests.books.factory import Catalog
from tests.support import GraphQL, add_to_cart, code, data, register

PAGE = "{ books(first: 2) { edges { node { id title } } } me { id } }"
PRIVATE_ROOT_FIELDS = [
    "myOrders { totalCount }",
    "wishlist { totalCount }",
    "myPrebooks { totalCount }",
    "orders { totalCount }",
    "prebooks { totalCount }",
]


async def test_the_anonymous_page_query_keeps_its_books(catalog: Catalog, gql: GraphQL) -> None:
    await catalog.book("First on the shelf")
    await catalog.book("Second on the shelf")
    result = await gql(PAGE)
    assert "errors" not in result
    assert result["data"]["me"] is None
    titles = {edge["node"]["title"] for edge in result["data"]["books"]["edges"]}
    assert titles == {"First on the shelf", "Second on the shelf"}
    assert await gql("{ cart { id } }") == {"data": {"cart": None}}


def expired_token(settings: Settings) -> str:
    """An access token that expired an hour ago, signed with the suite's key."""
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {
        "sub": "1",
        "iat": past,
        "nbf": past,
        "exp": past + timedelta(minutes=1),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": "expired",
        "type": "access",
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")


@pytest.mark.parametrize("kind", ["invalid", "expired"])
async def test_a_refused_token_still_says_why_on_me_and_cart(
    catalog: Catalog, gql: GraphQL, settings: Settings, kind: str
) -> None:
    await catalog.book("On the shelf")
    token, expected = {
        "invalid": ("not-a-jwt", "AUTH_INVALID_TOKEN"),
        "expired": (expired_token(settings), "AUTH_TOKEN_EXPIRED"),
    }[kind]
    result = await gql("{ books(first: 1) { totalCount } me { id } cart { id } }", token=token)
    assert result["data"]["books"]["totalCount"] >= 1  # the public part stays
    assert (result["data"]["me"], result["data"]["cart"]) == (None, None)
    assert sorted((e["path"], e["extensions"]["code"]) for e in result["errors"]) == [
        (["cart"], expected),
        (["me"], expected),
    ]


@pytest.mark.parametrize("field", PRIVATE_ROOT_FIELDS)
async def test_private_root_fields_refuse_anonymous_callers_alone(
    catalog: Catalog, gql: GraphQL, field: str
) -> None:
    await catalog.book("Public")
    result = await gql(f"{{ books(first: 1) {{ totalCount }} {field} }}")
    name = field.split()[0]
    assert result["data"][name] is None
    assert result["data"]["books"]["totalCount"] >= 1
    assert code(result) == "AUTH_REQUIRED"


async def test_a_failing_mutation_nulls_only_its_own_path(catalog: Catalog, gql: GraphQL) -> None:
    buyable = await catalog.book("In stock", stock=5)
    sold_out = await catalog.book("Sold out", stock=0)
    token = (await register(gql))["accessToken"]
    both = """mutation($a: ID!, $b: ID!) {
      first: addToCart(bookId: $a, quantity: 1) { totalQuantity }
      second: addToCart(bookId: $b, quantity: 1) { totalQuantity }
      third: addToWishlist(bookId: $b) { book { title } }
    }"""
    result = await gql(both, {"a": buyable["id"], "b": sold_out["id"]}, token=token)
    assert result["data"] == {
        "first": {"totalQuantity": 1},
        "second": None,
        "third": {"book": {"title": "Sold out"}},
    }
    assert [(e["path"], e["extensions"]["code"]) for e in result["errors"]] == [
        (["second"], "CART_OUT_OF_STOCK")
    ]
    # The first mutation's change was kept, not rolled back with the failing one.
    cart = data(await add_to_cart(gql, token, buyable["id"], 1))["addToCart"]
    assert cart["totalQuantity"] == 2
