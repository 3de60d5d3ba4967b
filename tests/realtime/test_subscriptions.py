"""The four subscriptions over real WebSockets against two real servers on one database: a
change made through server A reaches subscribers on server B, each sees only what it may
see, and an event carries the object's current state."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.db.session import Database
from app.realtime.hub import LISTENER_NAME
from tests.books.factory import Catalog
from tests.realtime.conftest import Servers
from tests.support import (
    ADDRESS,
    RESTOCK,
    GraphQL,
    add_to_cart,
    checkout,
    code,
    data,
    new_guest_cart,
    prebook,
    register,
)
from tests.support.ws import WAIT_SECONDS, signed_in

pytestmark = pytest.mark.committing

AVAILABILITY = """subscription($ids: [ID!]!) {
  bookAvailabilityChanged(bookIds: $ids) { book { id title availability } quantityAvailable }
}"""
ORDERS = "subscription { orderUpdated { id status total items { title quantity } } }"
ALL_ORDERS = "subscription { orderUpdated(all: true) { id status } }"
PREBOOKS = "subscription { prebookUpdated { id status queuePosition book { id } } }"
CART = "subscription { cartUpdated { id totalQuantity items { quantity book { id title } } } }"
CONFIRM = "mutation($id: ID!) { updateOrderStatus(id: $id, status: CONFIRMED) { id status } }"
CANCEL_PREBOOK = "mutation($id: ID!) { cancelPrebook(id: $id) { id status } }"


async def restock(api: GraphQL, admin: str, book_id: str, quantity: int) -> None:
    data(await api(RESTOCK, {"book": book_id, "quantity": quantity}, token=admin))


async def test_a_restock_through_one_instance_reaches_subscribers_on_both(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog
) -> None:
    book = await shelf.book("Sold Out", stock=0)
    async with (
        signed_in(servers.b) as anonymous,
        signed_in(servers.a, admin) as admin_socket,
    ):
        watching = await anonymous.listen(AVAILABILITY, {"ids": [book["id"]]})
        admin_watching = await admin_socket.listen(AVAILABILITY, {"ids": [book["id"]]})

        await restock(api, admin, book["id"], 3)

        expected = {"id": book["id"], "title": "Sold Out", "availability": "LOW_STOCK"}
        event = (await anonymous.next(watching))["data"]["bookAvailabilityChanged"]
        assert event == {"book": expected, "quantityAvailable": None}  # copies: admins only
        event = (await admin_socket.next(admin_watching))["data"]["bookAvailabilityChanged"]
        assert event == {"book": expected, "quantityAvailable": 3}


async def test_everyone_hears_availability_changes_and_admins_every_stock_change(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog
) -> None:
    book = await shelf.book("Plenty", stock=7)  # LOW_STOCK at 5 or fewer
    other = await shelf.book("Elsewhere", stock=20)
    shopper = (await register(api))["accessToken"]
    async with (
        signed_in(servers.b, shopper) as customer,
        signed_in(servers.b, admin) as admin_socket,
    ):
        ids = {"ids": [book["id"]]}
        watching, admin_watching = (
            await customer.listen(AVAILABILITY, ids),
            await admin_socket.listen(AVAILABILITY, ids),
        )
        await restock(api, admin, other["id"], 1)  # not a followed book
        for _ in range(2):  # 7 → 6: still IN_STOCK; 6 → 5: LOW_STOCK
            data(await add_to_cart(api, shopper, book["id"], 1))
            data(await checkout(api, shopper))

        admin_events = [
            (await admin_socket.next(admin_watching))["data"]["bookAvailabilityChanged"]
            for _ in range(2)
        ]
        assert [(e["book"]["availability"], e["quantityAvailable"]) for e in admin_events] == [
            ("IN_STOCK", 6),
            ("LOW_STOCK", 5),
        ]
        # The customer's first event is the change of availability: the sale that left the
        # book as available as before was not sent, nor the other book's restock.
        event = (await customer.next(watching))["data"]["bookAvailabilityChanged"]
        assert event == {
            "book": {"id": book["id"], "title": "Plenty", "availability": "LOW_STOCK"},
            "quantityAvailable": None,
        }


async def test_archived_books_are_followed_by_admins_only(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog
) -> None:
    book = await shelf.book("Withdrawn", stock=2)
    async with signed_in(servers.b) as anonymous, signed_in(servers.b, admin) as admin_socket:
        ids = {"ids": [book["id"]]}
        watching = await anonymous.listen(AVAILABILITY, ids)
        admin_watching = await admin_socket.listen(AVAILABILITY, ids)
        await shelf.archive(book["id"])
        await restock(api, admin, book["id"], 5)
        event = (await admin_socket.next(admin_watching))["data"]["bookAvailabilityChanged"]
        assert event["quantityAvailable"] == 2  # archiving is a change of availability
        await shelf.run("mutation($id: ID!) { unarchiveBook(id: $id) { id } }", {"id": book["id"]})
        # The anonymous subscriber's first event: the book back in the catalog, restocked.
        event = (await anonymous.next(watching))["data"]["bookAvailabilityChanged"]
        assert event["book"]["availability"] == "IN_STOCK"


async def test_order_updates_reach_their_owner_and_admins_only(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog
) -> None:
    book = await shelf.book("Dune", stock=10, price="12.50")
    alice, bob = (await register(api))["accessToken"], (await register(api))["accessToken"]
    async with (
        signed_in(servers.b, alice) as alice_socket,
        signed_in(servers.b, bob) as bob_socket,
        signed_in(servers.a, admin) as admin_socket,
    ):
        alices, bobs = await alice_socket.listen(ORDERS), await bob_socket.listen(ORDERS)
        everyone = await admin_socket.listen(ALL_ORDERS)

        data(await add_to_cart(api, alice, book["id"], 2))
        order = data(await checkout(api, alice))["checkout"]
        event = (await alice_socket.next(alices))["data"]["orderUpdated"]
        assert event == {
            "id": order["id"],
            "status": "PENDING",
            "total": order["total"],
            "items": [{"title": "Dune", "quantity": 2}],
        }
        assert (await admin_socket.next(everyone))["data"]["orderUpdated"] == {
            "id": order["id"],
            "status": "PENDING",
        }

        data(await api(CONFIRM, {"id": order["id"]}, token=admin))
        confirmed = (await alice_socket.next(alices))["data"]["orderUpdated"]
        assert (confirmed["id"], confirmed["status"]) == (order["id"], "CONFIRMED")

        # Bob's first event is his own order: Alice's never reached him.
        data(await add_to_cart(api, bob, book["id"], 1))
        bobs_order = data(await checkout(api, bob))["checkout"]
        assert (await bob_socket.next(bobs))["data"]["orderUpdated"]["id"] == bobs_order["id"]


async def test_following_every_order_is_for_admins_and_orders_for_the_signed_in(
    servers: Servers, api: GraphQL
) -> None:
    customer = (await register(api))["accessToken"]
    async with signed_in(servers.a, customer) as socket:
        refused = await socket.subscribe(ALL_ORDERS)
        [error] = await socket.error(refused)
        assert error["extensions"]["code"] == "AUTH_FORBIDDEN"
    async with signed_in(servers.a) as anonymous:
        for query in (ORDERS, PREBOOKS):
            refused = await anonymous.subscribe(query)
            [error] = await anonymous.error(refused)
            assert error["extensions"]["code"] == "AUTH_REQUIRED"
        refused = await anonymous.subscribe(CART)
        [error] = await anonymous.error(refused)
        assert error["extensions"]["code"] == "CART_TOKEN_INVALID"


async def test_prebook_updates_follow_the_queue_and_the_fulfilment(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog
) -> None:
    book = await shelf.book("Awaited", stock=0)
    alice, bob = (await register(api))["accessToken"], (await register(api))["accessToken"]
    alices = data(await prebook(api, alice, book["id"]))["prebook"]
    bobs = data(await prebook(api, bob, book["id"]))["prebook"]
    assert (alices["queuePosition"], bobs["queuePosition"]) == (1, 2)
    async with signed_in(servers.b, alice) as alice_socket, signed_in(servers.b, bob) as bob_socket:
        alice_watching = await alice_socket.listen(PREBOOKS)
        bob_watching = await bob_socket.listen(PREBOOKS)

        data(await api(CANCEL_PREBOOK, {"id": alices["id"]}, token=alice))
        mine = (await alice_socket.next(alice_watching))["data"]["prebookUpdated"]
        assert mine == {
            "id": alices["id"],
            "status": "CANCELLED",
            "queuePosition": None,
            "book": {"id": book["id"]},
        }
        # Bob's prebook moved up the queue: he hears it, though he changed nothing.
        moved = (await bob_socket.next(bob_watching))["data"]["prebookUpdated"]
        assert moved == {
            "id": bobs["id"],
            "status": "PENDING",
            "queuePosition": 1,
            "book": {"id": book["id"]},
        }

        await restock(api, admin, book["id"], 1)
        served = (await bob_socket.next(bob_watching))["data"]["prebookUpdated"]
        assert (served["id"], served["status"]) == (bobs["id"], "FULFILLED")


async def test_a_cart_changed_on_another_device_or_as_a_guest(
    servers: Servers, api: GraphQL, shelf: Catalog
) -> None:
    book = await shelf.book("Cart Book", stock=5)
    shopper = (await register(api))["accessToken"]
    guest = await new_guest_cart(api)
    async with (
        signed_in(servers.b, shopper) as phone,
        signed_in(servers.b, cartToken=guest) as guest_socket,
    ):
        users, guests = await phone.listen(CART), await guest_socket.listen(CART)

        data(await add_to_cart(api, shopper, book["id"], 2))  # on the laptop, through A
        event = (await phone.next(users))["data"]["cartUpdated"]
        assert event["totalQuantity"] == 2
        assert event["items"] == [{"quantity": 2, "book": {"id": book["id"], "title": "Cart Book"}}]

        add = "mutation($b: ID!) { addToCart(bookId: $b, quantity: 1) { id } }"
        data(await api(add, {"b": book["id"]}, headers={"X-Cart-Token": guest}))
        event = (await guest_socket.next(guests))["data"]["cartUpdated"]
        assert event["totalQuantity"] == 1

        data(await checkout(api, shopper, address=ADDRESS))  # empties the user's cart
        assert (await phone.next(users))["data"]["cartUpdated"]["totalQuantity"] == 0


async def test_subscriptions_over_http_answer_with_the_error_convention(api: GraphQL) -> None:
    query = "subscription { orderUpdated { id } }"
    posted = await api.http.post("/graphql", json={"query": query})
    got = await api.http.get("/graphql", params={"query": query})
    for response in (posted, got):
        assert response.status_code == 400
        assert code(response.json()) == "SUBSCRIPTION_OVER_HTTP"


LISTENERS = (
    "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
    "AND datname = current_database()"
)


async def test_events_flow_again_after_the_listening_connection_is_lost(
    servers: Servers, api: GraphQL, admin: str, shelf: Catalog, database: Database
) -> None:
    """The database ends both instances' listening connections (a restart, a failover):
    the hubs listen again on new ones, and a subscription made before hears what happens
    after."""
    book = await shelf.book("Survivor", stock=0)
    async with signed_in(servers.b) as anonymous:
        watching = await anonymous.listen(AVAILABILITY, {"ids": [book["id"]]})
        async with database.engine.connect() as pooled:
            # Each statement on its own: a transaction would see one snapshot of the stats.
            connection = await pooled.execution_options(isolation_level="AUTOCOMMIT")
            name = {"name": LISTENER_NAME}
            # One per instance: both servers, and the suite's own app.
            before = set(await connection.scalars(text(LISTENERS), name))
            assert len(before) >= 2
            ended = await connection.scalar(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM unnest(CAST(:pids AS int[])) AS pid"
                ),
                {"pids": list(before)},
            )
            assert ended == len(before)
            async with asyncio.timeout(WAIT_SECONDS):  # every instance listens again
                while True:
                    after = set(await connection.scalars(text(LISTENERS), name))
                    if len(after - before) == len(before):
                        break
                    await asyncio.sleep(0.1)
        await restock(api, admin, book["id"], 10)
        event = (await anonymous.next(watching))["data"]["bookAvailabilityChanged"]
        assert event["book"]["availability"] == "IN_STOCK"
