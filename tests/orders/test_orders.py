"""Order history, visibility, cancellation and the status workflow."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import (
    ORDER_FIELDS,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    code,
    data,
    error,
    register,
)

ORDER = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"
MY_ORDERS = """query($first: Int, $after: String, $status: OrderStatus) {
  myOrders(first: $first, after: $after, status: $status) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id status total } } } }"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status cancelledAt } }"
SET_STATUS = """mutation($id: ID!, $status: OrderStatus!) {
  updateOrderStatus(id: $id, status: $status) { id status confirmedAt shippedAt deliveredAt } }"""
STOCK = "query($id: ID!) { book(id: $id) { stockQuantity } }"


async def place(
    catalog: Catalog, gql: GraphQL, token: str, quantity: int = 1, **book: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    created = await catalog.book(**{"stock": 20, **book})
    await add_to_cart(gql, token, created["id"], quantity)
    order = data(await checkout(gql, token))["checkout"]
    return order, created


async def test_order_visible_to_owner_and_admins_only(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, _ = await place(catalog, gql, customer_token)
    variables = {"id": order["id"]}
    assert data(await gql(ORDER, variables, token=customer_token))["order"]["id"] == order["id"]
    assert data(await gql(ORDER, variables, token=admin_token))["order"]["id"] == order["id"]
    stranger = (await register(gql))["accessToken"]
    hidden = error(await gql(ORDER, variables, token=stranger))
    missing = error(
        await gql(ORDER, {"id": base64.b64encode(b"Order:987654").decode()}, token=stranger)
    )
    assert (
        hidden["extensions"] == missing["extensions"] == {"code": "ORDER_NOT_FOUND", "field": "id"}
    )
    assert hidden["message"] == missing["message"]  # indistinguishable
    assert code(await gql(ORDER, variables)) == "AUTH_REQUIRED"
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert data(await gql(node, variables, token=stranger))["node"] is None
    assert data(await gql(node, variables, token=customer_token))["node"] == {"id": order["id"]}


async def test_order_user_is_admin_only(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, _ = await place(catalog, gql, customer_token)
    query = "query($id: ID!) { order(id: $id) { id user { email } } }"
    assert code(await gql(query, {"id": order["id"]}, token=customer_token)) == "AUTH_FORBIDDEN"
    assert data(await gql(query, {"id": order["id"]}, token=admin_token))["order"]["user"]["email"]


async def test_my_orders_newest_first_with_status_filter_and_pages(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    placed = [(await place(catalog, gql, customer_token))[0] for _ in range(3)]
    await gql(SET_STATUS, {"id": placed[0]["id"], "status": "CONFIRMED"}, token=admin_token)
    page = data(await gql(MY_ORDERS, {"first": 2}, token=customer_token))["myOrders"]
    assert page["totalCount"] == 3
    assert [e["node"]["id"] for e in page["edges"]] == [placed[2]["id"], placed[1]["id"]]
    rest = data(
        await gql(
            MY_ORDERS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, token=customer_token
        )
    )
    assert [e["node"]["id"] for e in rest["myOrders"]["edges"]] == [placed[0]["id"]]
    confirmed = data(await gql(MY_ORDERS, {"status": "CONFIRMED"}, token=customer_token))[
        "myOrders"
    ]
    assert [e["node"]["id"] for e in confirmed["edges"]] == [placed[0]["id"]]
    other = (await register(gql))["accessToken"]
    assert data(await gql(MY_ORDERS, {}, token=other))["myOrders"]["totalCount"] == 0


async def test_admin_orders_with_filters(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    mine, _ = await place(catalog, gql, customer_token)
    other = await register(gql)
    theirs, _ = await place(catalog, gql, other["accessToken"])
    await gql(SET_STATUS, {"id": theirs["id"], "status": "CONFIRMED"}, token=admin_token)
    query = """query($f: OrderFilter) { orders(filter: $f) { totalCount edges { node { id } } } }"""

    async def ids(**filters: Any) -> list[str]:
        result = data(await gql(query, {"f": filters}, token=admin_token))["orders"]
        return [e["node"]["id"] for e in result["edges"]]

    assert await ids() == [theirs["id"], mine["id"]]
    assert await ids(status="CONFIRMED") == [theirs["id"]]
    assert await ids(userId=other["user"]["id"]) == [theirs["id"]]
    assert await ids(createdAfter="2999-01-01T00:00:00Z") == []
    assert await ids(createdBefore="2999-01-01T00:00:00Z") == [theirs["id"], mine["id"]]
    assert code(await gql(query, {}, token=customer_token)) == "AUTH_FORBIDDEN"
    assert code(await gql(query, {})) == "AUTH_REQUIRED"
    bad = error(await gql(query, {"f": {"userId": "nope"}}, token=admin_token))
    assert bad["extensions"]["field"] == "filter.userId"


# Moments at the edges of the calendar: before year 1 or after 9999 once in UTC.
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+06:00",
    "0001-01-01T05:59:59.999999+06:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T18:00:00-06:00",
    "0001-01-01T00:00:00+23:59",
]
IN_RANGE = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-14:00",
    "0001-01-01T06:00:00+06:00",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T17:59:59-06:00",
]


@pytest.mark.parametrize("name", ["createdAfter", "createdBefore"])
async def test_order_filter_moments_at_the_edges_of_the_calendar(
    gql: GraphQL, admin_token: str, name: str
) -> None:
    query = "query($f: OrderFilter) { orders(filter: $f) { totalCount } }"
    for moment in OUT_OF_RANGE:
        failure = error(await gql(query, {"f": {name: moment}}, token=admin_token))
        assert failure["extensions"]["code"] == "VALIDATION_ERROR", (moment, failure)
        assert failure["extensions"]["field"] == f"filter.{name}"
        assert moment not in failure["message"]
    for moment in IN_RANGE:
        result = data(await gql(query, {"f": {name: moment}}, token=admin_token))
        assert result["orders"]["totalCount"] >= 0
    # With and without an offset in one filter: both are moments in UTC.
    mixed = {"createdAfter": "2020-01-01T00:00:00", "createdBefore": "2021-01-01T00:00:00+01:00"}
    assert data(await gql(query, {"f": mixed}, token=admin_token))["orders"]["totalCount"] == 0


async def test_cancel_returns_stock_once(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, book = await place(catalog, gql, customer_token, quantity=3, stock=10)
    assert (
        data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]["stockQuantity"] == 7
    )
    cancelled = data(await gql(CANCEL, {"id": order["id"]}, token=customer_token))["cancelOrder"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelledAt"] is not None
    again = data(await gql(CANCEL, {"id": order["id"]}, token=customer_token))["cancelOrder"]
    assert again == cancelled
    assert (
        data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]["stockQuantity"] == 10
    )


async def test_cancel_rules(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, _ = await place(catalog, gql, customer_token)
    stranger = (await register(gql))["accessToken"]
    assert code(await gql(CANCEL, {"id": order["id"]}, token=stranger)) == "ORDER_NOT_FOUND"
    for status in ("CONFIRMED", "SHIPPED"):
        await gql(SET_STATUS, {"id": order["id"], "status": status}, token=admin_token)
    shipped = error(await gql(CANCEL, {"id": order["id"]}, token=customer_token))
    assert shipped["extensions"]["code"] == "ORDER_NOT_CANCELLABLE"
    by_admin, _ = await place(catalog, gql, customer_token)
    assert data(await gql(CANCEL, {"id": by_admin["id"]}, token=admin_token))["cancelOrder"][
        "status"
    ] == ("CANCELLED")


async def test_status_workflow(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, _ = await place(catalog, gql, customer_token)

    async def move(status: str) -> dict[str, Any]:
        return await gql(SET_STATUS, {"id": order["id"], "status": status}, token=admin_token)

    skip = error(await move("SHIPPED"))
    assert skip["extensions"] == {
        "code": "ORDER_INVALID_STATUS_TRANSITION",
        "field": "status",
        "from": "PENDING",
        "to": "SHIPPED",
    }
    for status, stamp in (
        ("CONFIRMED", "confirmedAt"),
        ("SHIPPED", "shippedAt"),
        ("DELIVERED", "deliveredAt"),
    ):
        moved = data(await move(status))["updateOrderStatus"]
        assert moved["status"] == status
        assert moved[stamp] is not None
    assert error(await move("CANCELLED"))["extensions"]["from"] == "DELIVERED"
    assert code(await move("PENDING")) == "ORDER_INVALID_STATUS_TRANSITION"
    customer = await gql(
        SET_STATUS, {"id": order["id"], "status": "CONFIRMED"}, token=customer_token
    )
    assert code(customer) == "AUTH_FORBIDDEN"


async def test_order_lines_keep_their_snapshot(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    order, book = await place(catalog, gql, customer_token, title="Original Title", price="10.00")
    await catalog.run(
        'mutation($id: ID!) { updateBook(id: $id, input: {title: "New Title", price: "99.00"}) { id } }',
        {"id": book["id"]},
    )
    await catalog.archive(book["id"])
    item = data(await gql(ORDER, {"id": order["id"]}, token=customer_token))["order"]["items"][0]
    assert (item["title"], item["unitPrice"]) == ("Original Title", "10.00")
    assert item["book"] == {"id": book["id"], "title": "New Title"}  # the archived book itself


@pytest.mark.parametrize(("orders", "lines"), [(2, 1), (12, 3), (5, 6)])
async def test_my_orders_statement_budget(
    catalog: Catalog,
    gql: GraphQL,
    customer_token: str,
    database: Database,
    statements: StatementCounter,
    orders: int,
    lines: int,
) -> None:
    author = await catalog.author()
    books = [await catalog.book(f"B{i}", authors=[author], stock=99) for i in range(2 * lines)]
    for n in range(orders):
        for book in books[n % 2 :: 2][:lines]:  # distinct books across orders too
            await add_to_cart(gql, customer_token, book["id"])
        assert "errors" not in await checkout(gql, customer_token)
    statements.statements.clear()
    query = """{ myOrders(first: 50) { edges { node { id total
        items { title quantity book { title authors { name } } } } } } }"""
    result = data(await gql(query, token=customer_token))["myOrders"]
    assert len(result["edges"]) == orders
    assert sum(len(edge["node"]["items"]) for edge in result["edges"]) == orders * lines
    # viewer, page, lines, books, authors: whatever the number of orders and lines
    assert statements.count == 5, statements.statements


async def test_a_refused_order_user_leaves_the_rest_of_the_order(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    order, _ = await place(catalog, gql, customer_token)
    query = "query($id: ID!) { order(id: $id) { id status user { id } } }"
    result = await gql(query, {"id": order["id"]}, token=customer_token)
    assert error(result)["path"] == ["order", "user"]
    assert result["data"]["order"] == {"id": order["id"], "status": "PENDING", "user": None}


async def test_cancelled_by_an_admin_the_copies_go_back(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    order, book = await place(catalog, gql, customer_token, quantity=2, stock=5)
    variables = {"id": order["id"], "status": "CANCELLED"}
    cancelled = data(await gql(SET_STATUS, variables, token=admin_token))["updateOrderStatus"]
    assert cancelled["status"] == "CANCELLED"
    stock = data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]
    assert stock["stockQuantity"] == 5
