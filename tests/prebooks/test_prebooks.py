"""Prebooks: when they are allowed, the queue, fulfilment rules, the price guarantee."""

from __future__ import annotations

from typing import Any

import pytest

from tests.books.factory import Catalog, days_from_today
from tests.support import (
    PREBOOK_FIELDS,
    RESTOCK,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    code,
    data,
    error,
    prebook,
    register,
)

CANCEL = f"mutation($id: ID!) {{ cancelPrebook(id: $id) {{ {PREBOOK_FIELDS} }} }}"
MINE = f"""query($status: PrebookStatus) {{ myPrebooks(status: $status) {{ totalCount
  edges {{ node {{ {PREBOOK_FIELDS} }} }} }} }}"""
FULFIL = f"""mutation($book: ID!) {{ fulfilPrebooks(bookId: $book) {{
  book {{ stockQuantity }} fulfilledPrebooks {{ {PREBOOK_FIELDS} }} }} }}"""
STOCK = "query($id: ID!) { book(id: $id) { stockQuantity pendingPrebookQuantity } }"


async def customer(gql: GraphQL) -> str:
    token: str = (await register(gql))["accessToken"]
    return token


async def test_prebook_an_unreleased_book(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book("Upcoming", price="24.00", stock=0, released_days_ago=-20)
    made = data(await prebook(gql, customer_token, book["id"], 2, city="Lyon"))["prebook"]
    assert made["status"] == "PENDING"
    assert (made["quantity"], made["priceAtPrebook"], made["queuePosition"]) == (2, "24.00", 1)
    assert made["shippingAddress"] == {"city": "Lyon", "country": "DE"}
    assert made["order"] is None
    second = data(await prebook(gql, await customer(gql), book["id"]))["prebook"]
    assert second["queuePosition"] == 2


async def test_when_prebooks_are_allowed(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    buyable = await catalog.book("On the shelf", stock=5)
    refused = error(await prebook(gql, customer_token, buyable["id"], 2))
    assert refused["extensions"]["code"] == "PREBOOK_NOT_ALLOWED"
    assert "cart" in refused["message"]
    assert (
        data(await prebook(gql, customer_token, buyable["id"], 6))["prebook"]["status"] == "PENDING"
    )
    sold_out = await catalog.book("Sold out", stock=0)
    assert "errors" not in await prebook(gql, customer_token, sold_out["id"])
    archived = await catalog.book("Withdrawn", stock=0)
    await catalog.archive(archived["id"])
    assert code(await prebook(gql, customer_token, archived["id"])) == "BOOK_NOT_FOUND"


@pytest.mark.parametrize("quantity", [0, 11, -3])
async def test_quantity_is_1_to_10(
    catalog: Catalog, gql: GraphQL, customer_token: str, quantity: int
) -> None:
    book = await catalog.book(stock=0)
    failure = error(await prebook(gql, customer_token, book["id"], quantity))
    assert failure["extensions"]["code"] == "PREBOOK_QUANTITY_INVALID"
    assert failure["extensions"]["field"] == "input.quantity"


async def test_one_waiting_prebook_per_book(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book(stock=0)
    first = data(await prebook(gql, customer_token, book["id"]))["prebook"]
    duplicate = error(await prebook(gql, customer_token, book["id"], 3))
    assert duplicate["extensions"]["code"] == "PREBOOK_ALREADY_EXISTS"
    assert duplicate["extensions"]["prebookId"] == first["id"]
    await gql(CANCEL, {"id": first["id"]}, token=customer_token)
    assert "errors" not in await prebook(gql, customer_token, book["id"])


async def test_cancel_rules(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book(stock=0)
    made = data(await prebook(gql, customer_token, book["id"]))["prebook"]
    stranger = await customer(gql)
    assert code(await gql(CANCEL, {"id": made["id"]}, token=stranger)) == "PREBOOK_NOT_FOUND"
    cancelled = data(await gql(CANCEL, {"id": made["id"]}, token=customer_token))["cancelPrebook"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelledAt"] is not None
    assert cancelled["queuePosition"] is None
    again = error(await gql(CANCEL, {"id": made["id"]}, token=customer_token))
    assert again["extensions"]["code"] == "PREBOOK_NOT_CANCELLABLE"
    other = data(await prebook(gql, stranger, book["id"]))["prebook"]
    assert (
        data(await gql(CANCEL, {"id": other["id"]}, token=admin_token))["cancelPrebook"]["status"]
        == "CANCELLED"
    )


async def test_restock_serves_fifo_and_stops_at_the_first_misfit(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book("Queue", stock=0)
    alice, bob, carol = await customer(gql), await customer(gql), await customer(gql)
    a = data(await prebook(gql, alice, book["id"], 3))["prebook"]
    b = data(await prebook(gql, bob, book["id"], 5))["prebook"]
    c = data(await prebook(gql, carol, book["id"], 1))["prebook"]
    result = data(await gql(RESTOCK, {"book": book["id"], "quantity": 4}, token=admin_token))[
        "restockBook"
    ]
    assert [p["id"] for p in result["fulfilledPrebooks"]] == [
        a["id"]
    ]  # Bob's 5 don't fit: Carol waits
    assert result["book"]["stockQuantity"] == 1
    served = result["fulfilledPrebooks"][0]
    assert served["status"] == "FULFILLED"
    assert served["order"]["status"] == "CONFIRMED"
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Prebook { id queuePosition } } }"
    waiting = data(await gql(nodes, {"ids": [b["id"], c["id"]]}, token=admin_token))["nodes"]
    assert waiting == [{"id": b["id"], "queuePosition": 1}, {"id": c["id"], "queuePosition": 2}]
    more = data(await gql(RESTOCK, {"book": book["id"], "quantity": 5}, token=admin_token))[
        "restockBook"
    ]
    assert [p["id"] for p in more["fulfilledPrebooks"]] == [b["id"], c["id"]]
    assert more["book"]["stockQuantity"] == 0


async def test_price_guarantee_both_ways(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    rising = await catalog.book("Rising", price="20.00", stock=0)
    falling = await catalog.book("Falling", price="20.00", stock=0)
    await prebook(gql, customer_token, rising["id"], 2)
    await prebook(gql, customer_token, falling["id"], 1)
    for book, price in ((rising, "25.00"), (falling, "15.50")):
        await catalog.run(
            "mutation($id: ID!, $p: Decimal!) { updateBook(id: $id, input: {price: $p}) { id } }",
            {"id": book["id"], "p": price},
        )
    up = data(await gql(RESTOCK, {"book": rising["id"], "quantity": 2}, token=admin_token))[
        "restockBook"
    ]
    down = data(await gql(RESTOCK, {"book": falling["id"], "quantity": 1}, token=admin_token))[
        "restockBook"
    ]
    assert up["fulfilledPrebooks"][0]["order"]["items"] == [{"unitPrice": "20.00", "quantity": 2}]
    assert up["fulfilledPrebooks"][0]["order"]["total"] == "40.00"
    assert down["fulfilledPrebooks"][0]["order"]["items"] == [{"unitPrice": "15.50", "quantity": 1}]
    orders = data(
        await gql("{ myOrders { totalCount edges { node { status } } } }", token=customer_token)
    )
    assert orders["myOrders"]["totalCount"] == 2


async def test_unreleased_books_wait_for_release(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book("Not yet", stock=0, released_days_ago=-5)
    await prebook(gql, customer_token, book["id"], 2)
    early = data(await gql(RESTOCK, {"book": book["id"], "quantity": 10}, token=admin_token))[
        "restockBook"
    ]
    assert early["fulfilledPrebooks"] == []
    assert early["book"]["stockQuantity"] == 10
    assert code(await gql(FULFIL, {"book": book["id"]}, token=admin_token)) == "BOOK_NOT_RELEASED"
    await catalog.run(
        "mutation($id: ID!, $d: Date!) { updateBook(id: $id, input: {releaseDate: $d}) { id } }",
        {"id": book["id"], "d": days_from_today(0)},
    )
    released = data(await gql(FULFIL, {"book": book["id"]}, token=admin_token))["fulfilPrebooks"]
    assert len(released["fulfilledPrebooks"]) == 1
    assert released["book"]["stockQuantity"] == 8


async def test_cancelled_order_copies_go_to_the_queue_first(
    catalog: Catalog, gql: GraphQL, admin_token: str
) -> None:
    book = await catalog.book("Scarce", stock=2)
    buyer, waiter = await customer(gql), await customer(gql)
    await add_to_cart(gql, buyer, book["id"], 2)
    order = data(await checkout(gql, buyer))["checkout"]
    waiting = data(await prebook(gql, waiter, book["id"], 2))["prebook"]
    await gql(
        "mutation($id: ID!) { cancelOrder(id: $id) { id } }", {"id": order["id"]}, token=buyer
    )
    mine = data(await gql(MINE, {}, token=waiter))["myPrebooks"]["edges"][0]["node"]
    assert (mine["id"], mine["status"]) == (waiting["id"], "FULFILLED")
    assert (
        data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]["stockQuantity"] == 0
    )


async def test_lists_and_admin_fields(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book(stock=0)
    other = await catalog.book(stock=0)
    await prebook(gql, customer_token, book["id"], 2)
    cancelled = data(await prebook(gql, customer_token, other["id"], 1))["prebook"]
    await gql(CANCEL, {"id": cancelled["id"]}, token=customer_token)
    rival = await customer(gql)
    await prebook(gql, rival, book["id"], 3)

    mine = data(await gql(MINE, {}, token=customer_token))["myPrebooks"]
    assert mine["totalCount"] == 2
    pending = data(await gql(MINE, {"status": "PENDING"}, token=customer_token))["myPrebooks"]
    assert pending["totalCount"] == 1
    admin_list = """query($b: ID, $s: PrebookStatus) { prebooks(bookId: $b, status: $s) {
      totalCount edges { node { quantity } } } }"""
    assert (
        data(await gql(admin_list, {"b": book["id"]}, token=admin_token))["prebooks"]["totalCount"]
        == 2
    )
    by_status = await gql(admin_list, {"s": "CANCELLED"}, token=admin_token)
    assert [edge["node"]["quantity"] for edge in data(by_status)["prebooks"]["edges"]] == [1]
    assert code(await gql(admin_list, {"b": book["id"]}, token=customer_token)) == "AUTH_FORBIDDEN"
    pending_copies = data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]
    assert pending_copies["pendingPrebookQuantity"] == 5
    customer_view = await gql(
        "query($id: ID!) { book(id: $id) { pendingPrebookQuantity } }",
        {"id": book["id"]},
        token=customer_token,
    )
    assert code(customer_view) == "AUTH_FORBIDDEN"


async def test_restock_validation_and_permissions(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book(stock=0)
    for quantity in (0, -5, 100_001):
        failure = error(
            await gql(RESTOCK, {"book": book["id"], "quantity": quantity}, token=admin_token)
        )
        assert failure["extensions"] == {
            "code": "VALIDATION_ERROR",
            "field": "quantity",
            "errors": failure["extensions"]["errors"],
        }
    assert (
        code(await gql(RESTOCK, {"book": book["id"], "quantity": 1}, token=customer_token))
        == "AUTH_FORBIDDEN"
    )
    assert code(await gql(RESTOCK, {"book": book["id"], "quantity": 1})) == "AUTH_REQUIRED"
    full = await catalog.book(stock=1_000_000)
    over = error(await gql(RESTOCK, {"book": full["id"], "quantity": 1}, token=admin_token))
    assert (over["extensions"]["code"], over["extensions"]["field"]) == (
        "VALIDATION_ERROR",
        "quantity",
    )
    await catalog.run("mutation($id: ID!) { archiveBook(id: $id) { id } }", {"id": book["id"]})
    gone = error(await gql(FULFIL, {"book": book["id"]}, token=admin_token))
    assert (gone["extensions"]["code"], gone["extensions"]["field"]) == ("BOOK_NOT_FOUND", "bookId")


@pytest.mark.parametrize("count", [2, 12])
async def test_my_prebooks_statement_budget(
    catalog: Catalog,
    gql: GraphQL,
    customer_token: str,
    admin_token: str,
    statements: StatementCounter,
    count: int,
) -> None:
    author = await catalog.author()
    for i in range(count):
        book = await catalog.book(f"P{i}", authors=[author], stock=0)
        await prebook(gql, customer_token, book["id"])
        if i % 2:  # half of them served: their orders are loaded too
            await gql(RESTOCK, {"book": book["id"], "quantity": 1}, token=admin_token)
    statements.statements.clear()
    query = """{ myPrebooks(first: 50) { edges { node { quantity queuePosition
        order { id items { quantity } } book { title authors { name } } } } } }"""
    result: dict[str, Any] = data(await gql(query, token=customer_token))["myPrebooks"]
    assert len(result["edges"]) == count
    assert sum(edge["node"]["order"] is not None for edge in result["edges"]) == count // 2
    # viewer, page, queue positions, books, authors, orders, order items
    assert statements.count == 7, statements.statements


async def test_copies_are_held_while_prebooks_wait(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book("Held", stock=0)
    waiter = await customer(gql)
    waiting = data(await prebook(gql, waiter, book["id"], 3))["prebook"]
    small = data(await gql(RESTOCK, {"book": book["id"], "quantity": 2}, token=admin_token))[
        "restockBook"
    ]
    assert small["fulfilledPrebooks"] == []
    assert small["book"]["stockQuantity"] == 2
    assert small["book"]["availability"] == "OUT_OF_STOCK"  # the 2 copies are spoken for
    refused = error(await add_to_cart(gql, customer_token, book["id"]))
    assert refused["extensions"]["code"] == "CART_OUT_OF_STOCK"
    assert refused["extensions"]["availableQuantity"] == 0
    assert "errors" not in await prebook(gql, customer_token, book["id"], 1)  # so: queue up

    enough = data(await gql(RESTOCK, {"book": book["id"], "quantity": 2}, token=admin_token))[
        "restockBook"
    ]
    assert enough["fulfilledPrebooks"][0]["id"] == waiting["id"]
    assert len(enough["fulfilledPrebooks"]) == 2  # then the one queued behind
    assert enough["book"]["stockQuantity"] == 0


async def test_release_day_copies_wait_for_fulfilment(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book("Launch", stock=5, released_days_ago=-3)
    waiter = await customer(gql)
    await prebook(gql, waiter, book["id"], 2)
    await catalog.run(
        "mutation($id: ID!, $d: Date!) { updateBook(id: $id, input: {releaseDate: $d}) { id } }",
        {"id": book["id"], "d": days_from_today(0)},
    )
    early = error(await add_to_cart(gql, customer_token, book["id"]))
    assert early["extensions"]["code"] == "CART_OUT_OF_STOCK"  # until the queue is served
    served = data(await gql(FULFIL, {"book": book["id"]}, token=admin_token))["fulfilPrebooks"]
    assert len(served["fulfilledPrebooks"]) == 1
    assert "errors" not in await add_to_cart(gql, customer_token, book["id"], 3)


async def test_cancelling_a_prebook_releases_its_hold(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book("Let go", stock=2)
    waiter = await customer(gql)
    waiting = data(await prebook(gql, waiter, book["id"], 3))["prebook"]
    assert code(await add_to_cart(gql, customer_token, book["id"])) == "CART_OUT_OF_STOCK"
    held = data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]
    assert held == {"stockQuantity": 2, "pendingPrebookQuantity": 3}
    await gql(CANCEL, {"id": waiting["id"]}, token=waiter)
    assert "errors" not in await add_to_cart(gql, customer_token, book["id"], 2)


async def test_cancelling_the_head_serves_those_behind_it(
    catalog: Catalog, gql: GraphQL, customer_token: str, admin_token: str
) -> None:
    book = await catalog.book("Unblocked", stock=2)
    head, behind = await customer(gql), await customer(gql)
    blocking = data(await prebook(gql, head, book["id"], 3))["prebook"]
    waiting = data(await prebook(gql, behind, book["id"], 1))["prebook"]
    assert waiting["queuePosition"] == 2
    await gql(CANCEL, {"id": blocking["id"]}, token=head)
    mine = data(await gql(MINE, {}, token=behind))["myPrebooks"]["edges"][0]["node"]
    assert (mine["status"], mine["order"]["status"]) == ("FULFILLED", "CONFIRMED")
    held = data(await gql(STOCK, {"id": book["id"]}, token=admin_token))["book"]
    assert held == {"stockQuantity": 1, "pendingPrebookQuantity": 0}
    assert "errors" not in await add_to_cart(gql, customer_token, book["id"], 1)
    served = error(await gql(CANCEL, {"id": waiting["id"]}, token=behind))
    assert served["extensions"]["code"] == "PREBOOK_NOT_CANCELLABLE"


async def test_cancelling_moves_those_behind_up(catalog: Catalog, gql: GraphQL) -> None:
    book = await catalog.book("Long queue", stock=0)
    first, second, third = await customer(gql), await customer(gql), await customer(gql)
    head = data(await prebook(gql, first, book["id"]))["prebook"]
    behind = [
        (token, data(await prebook(gql, token, book["id"]))["prebook"]) for token in (second, third)
    ]
    await gql(CANCEL, {"id": head["id"]}, token=first)
    node = "query($id: ID!) { node(id: $id) { ... on Prebook { queuePosition } } }"
    positions = [
        data(await gql(node, {"id": made["id"]}, token=token))["node"]["queuePosition"]
        for token, made in behind
    ]
    assert positions == [1, 2]


async def test_on_release_day_held_copies_show_out_of_stock(
    catalog: Catalog, gql: GraphQL, customer_token: str
) -> None:
    book = await catalog.book("Launch day", stock=3, released_days_ago=-3)
    await prebook(gql, await customer(gql), book["id"], 2)
    await catalog.run(
        "mutation($id: ID!, $d: Date!) { updateBook(id: $id, input: {releaseDate: $d}) { id } }",
        {"id": book["id"], "d": days_from_today(0)},
    )
    shown = data(
        await gql("query($id: ID!) { book(id: $id) { availability } }", {"id": book["id"]})
    )
    assert shown["book"]["availability"] == "OUT_OF_STOCK"
    refused = error(await add_to_cart(gql, customer_token, book["id"]))
    assert refused["extensions"]["availableQuantity"] == 0
