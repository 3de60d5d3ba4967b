"""What one event costs the database: a real uvicorn server in the test's process (so the
suite's statement counter sees the app's engine), real WebSockets. A book's change is
read once per worker however many anonymous subscribers follow it; an order is read once
per subscriber (each may see only their own), its lines batched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
import uvicorn
from fastapi import FastAPI

from bench.servers import free_port
from tests.books.factory import Catalog
from tests.support import (
    RESTOCK,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    data,
    register,
)
from tests.support.ws import signed_in

pytestmark = pytest.mark.committing

AVAILABILITY = """subscription($ids: [ID!]!) {
  bookAvailabilityChanged(bookIds: $ids) { book { id title availability authors { name } } }
}"""
ORDERS = "subscription { orderUpdated { id status items { title quantity } } }"


@pytest.fixture
async def in_process(app: FastAPI) -> AsyncIterator[str]:
    """The suite's app behind a real uvicorn server on a free port, in this process."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        ws="websockets-sansio",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(15):
        while not server.started:  # noqa: ASYNC110 - uvicorn's own flag
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def restock_heard_by(
    base: str,
    gql: GraphQL,
    admin: str,
    book_id: str,
    subscribers: int,
    statements: StatementCounter,
) -> int:
    """Statements from the restock to the last subscriber's event."""
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(signed_in(base)) for _ in range(subscribers)]
        for socket in sockets:
            await socket.listen(AVAILABILITY, {"ids": [book_id]})
        statements.statements.clear()
        data(await gql(RESTOCK, {"book": book_id, "quantity": 10}, token=admin))
        events = [(await socket.next())["data"]["bookAvailabilityChanged"] for socket in sockets]
        assert [event["book"]["availability"] for event in events] == ["IN_STOCK"] * subscribers
        assert all(event == events[0] for event in events)
        return statements.count


async def test_a_book_change_is_read_once_for_every_anonymous_subscriber(
    in_process: str,
    gql: GraphQL,
    admin_token: str,
    catalog: Catalog,
    statements: StatementCounter,
) -> None:
    counts = {}
    for subscribers in (1, 10):
        book = await catalog.book(f"Followed by {subscribers}", stock=0)
        counts[subscribers] = await restock_heard_by(
            in_process, gql, admin_token, book["id"], subscribers, statements
        )
    # The restock's own statements, then one read of the book and one of its authors for
    # the event of every subscriber of the worker.
    restock_alone = counts[1] - 2
    assert restock_alone > 0
    assert counts == {1: restock_alone + 2, 10: restock_alone + 2}


async def test_an_order_event_is_read_per_subscriber_with_its_lines_batched(
    in_process: str, gql: GraphQL, catalog: Catalog, statements: StatementCounter
) -> None:
    book = await catalog.book("Two lines", stock=5)
    other = await catalog.book("Second line", stock=5)
    shopper = (await register(gql))["accessToken"]

    async def checkout_of_two_lines() -> dict[str, object]:
        for book_id in (book["id"], other["id"]):
            data(await add_to_cart(gql, shopper, book_id))
        statements.statements.clear()
        order: dict[str, object] = data(await checkout(gql, shopper))["checkout"]
        return order

    await checkout_of_two_lines()  # nobody listening: the checkout's own statements
    checkout_alone = statements.count
    async with signed_in(in_process, shopper) as phone, signed_in(in_process, shopper) as laptop:
        for socket in (phone, laptop):
            await socket.listen(ORDERS)
        order = await checkout_of_two_lines()
        events = [(await socket.next())["data"]["orderUpdated"] for socket in (phone, laptop)]
    assert [event["id"] for event in events] == [order["id"]] * 2
    assert len(events[0]["items"]) == 2
    # Each socket: the order, then its lines in one statement.
    assert statements.count - checkout_alone == 2 * 2
