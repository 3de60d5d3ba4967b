"""Helpers shared by the test modules: a GraphQL client, result accessors, documents.

The client and the statement counter come from the benchmark, which counts SQL the same way
(the suite may import `bench`, never the other way round).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from bench.client import GraphQL as GraphQL
from bench.client import StatementCounter as StatementCounter
from bench.client import data as data

T = TypeVar("T")


def client_from(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from address `ip` (for per-address limits)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def error(result: dict[str, Any]) -> dict[str, Any]:
    """The single error of a result that must have exactly one."""
    errors = result.get("errors")
    assert errors and len(errors) == 1, result
    first: dict[str, Any] = errors[0]
    return first


def code(result: dict[str, Any]) -> str:
    """`extensions.code` of the single error of `result`."""
    value: str = error(result)["extensions"]["code"]
    return value


def run_in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run sync code that starts its own event loop (alembic's env.py) from anywhere."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


async def gather_all(*coroutines: Any) -> list[Any]:
    """Run coroutines concurrently; every one runs to completion even if another fails."""
    return list(await asyncio.gather(*coroutines))


PASSWORD = "correct horse battery"

AUTH_FIELDS = (
    "accessToken refreshToken tokenType expiresIn user { id email fullName role createdAt }"
)

REGISTER = f"""
mutation($input: RegisterInput!) {{ register(input: $input) {{ {AUTH_FIELDS} }} }}
"""
LOGIN = f"""
mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}
"""


def unique_email(prefix: str = "reader") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    gql: GraphQL, email: str | None = None, password: str = PASSWORD, full_name: str = "Ada Reader"
) -> dict[str, Any]:
    """Register a customer; returns the AuthPayload."""
    variables = {
        "input": {"email": email or unique_email(), "password": password, "fullName": full_name}
    }
    payload: dict[str, Any] = data(await gql(REGISTER, variables))["register"]
    return payload


async def login(gql: GraphQL, email: str, password: str = PASSWORD) -> dict[str, Any]:
    return await gql(LOGIN, {"input": {"email": email, "password": password}})


CREATE_GUEST_CART = "mutation { createGuestCart { cartToken cart { id } } }"
GUEST = "guest:"


async def new_guest_cart(gql: GraphQL) -> str:
    """The token of a new guest cart."""
    token: str = data(await gql(CREATE_GUEST_CART))["createGuestCart"]["cartToken"]
    return token


def as_guest(cart_token: str) -> str:
    """What to pass as `token=` to a `Shopper` to send `cart_token` as X-Cart-Token."""
    return GUEST + cart_token


class Shopper(GraphQL):
    """The client for tests that run for either kind of shopper: a `token` made by
    `as_guest` is sent as the X-Cart-Token header (no Authorization), any other as a bearer
    token."""

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if token is not None and token.startswith(GUEST):
            headers = {**(headers or {}), "X-Cart-Token": token.removeprefix(GUEST)}
            token = None
        return await super().__call__(query, variables, token=token, headers=headers)


ADDRESS = {
    "fullName": "Ada Reader",
    "line1": "1 Library Lane",
    "line2": None,
    "city": "Berlin",
    "postalCode": "10115",
    "country": "DE",
}

CART_FIELDS = """
id totalQuantity subtotal updatedAt
items { id quantity unitPrice lineTotal addedAt book { id title price } }
warnings { code message bookId availableQuantity }
"""
CART = f"{{ cart {{ {CART_FIELDS} }} }}"
ADD_TO_CART = f"""
mutation($book: ID!, $quantity: Int!) {{
  addToCart(bookId: $book, quantity: $quantity) {{ {CART_FIELDS} }}
}}
"""
ORDER_FIELDS = """
id status subtotal total currency createdAt updatedAt confirmedAt shippedAt deliveredAt
cancelledAt
shippingAddress { fullName line1 line2 city postalCode country }
items { title unitPrice quantity lineTotal book { id title } }
"""
CHECKOUT = f"""
mutation($input: CheckoutInput!) {{ checkout(input: $input) {{ {ORDER_FIELDS} }} }}
"""


async def add_to_cart(gql: GraphQL, token: str, book_id: str, quantity: int = 1) -> dict[str, Any]:
    return await gql(ADD_TO_CART, {"book": book_id, "quantity": quantity}, token=token)


async def checkout(
    gql: GraphQL, token: str, key: str | None = None, address: dict[str, Any] | None = None
) -> dict[str, Any]:
    variables = {
        "input": {
            "idempotencyKey": key or f"key-{uuid.uuid4().hex}",
            "shippingAddress": address or ADDRESS,
        }
    }
    return await gql(CHECKOUT, variables, token=token)


PREBOOK_FIELDS = """
id quantity status priceAtPrebook createdAt fulfilledAt cancelledAt queuePosition
shippingAddress { city country }
book { id title }
order { id status total items { unitPrice quantity } }
"""
PREBOOK = f"mutation($input: PrebookInput!) {{ prebook(input: $input) {{ {PREBOOK_FIELDS} }} }}"
RESTOCK = f"""mutation($book: ID!, $quantity: Int!) {{
  restockBook(bookId: $book, quantity: $quantity) {{
    book {{ id stockQuantity availability }} fulfilledPrebooks {{ {PREBOOK_FIELDS} }} }} }}"""


async def prebook(
    gql: GraphQL, token: str, book_id: str, quantity: int = 1, city: str = "Berlin"
) -> dict[str, Any]:
    variables = {
        "input": {
            "bookId": book_id,
            "quantity": quantity,
            "shippingAddress": {**ADDRESS, "city": city},
        }
    }
    return await gql(PREBOOK, variables, token=token)
