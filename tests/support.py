"""Helpers shared by the test modules: a GraphQL client and result accessors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


def client_from(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from address `ip` (for per-address limits)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class GraphQL:
    """Posts to `/graphql` like a client does, returning the JSON body."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def data(result: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a result that must have no errors."""
    assert "errors" not in result, result.get("errors")
    payload: dict[str, Any] = result["data"]
    return payload


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


class StatementCounter:
    """Counts the SQL statements (not transaction control) run on an engine."""

    _COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        statement = str(args[2]).lstrip().upper()
        if statement.startswith(self._COUNTED):
            self.statements.append(str(args[2]))

    @property
    def count(self) -> int:
        return len(self.statements)


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
