"""The emails about orders: placed, shipped, cancelled, and a prebook served."""

from __future__ import annotations

from sqlalchemy import text

from app.core.config import Settings
from app.db.session import Database
from app.graphql.ids import decode_id
from app.inventory import service as inventory
from app.inventory.schemas import OrderLine
from app.mail import service as mail
from app.mail.links import ORDER
from app.mail.schemas import Template
from app.orders import service as orders_service
from app.orders.models import Order
from tests.books.factory import Catalog
from tests.support import (
    RESTOCK,
    GraphQL,
    add_to_cart,
    checkout,
    data,
    prebook,
    register,
    unique_email,
)
from tests.support.mail import SmtpCatcher, deliver, html_of, link_to, text_of

STATUS = (
    "mutation($id: ID!, $s: OrderStatus!) { updateOrderStatus(id: $id, status: $s) { status } }"
)
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { status } }"


def order_path(order_id: str) -> str:
    return ORDER.format(id=order_id)


async def test_placing_shipping_and_cancelling_orders_are_emailed(
    catalog: Catalog,
    gql: GraphQL,
    admin_token: str,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    book = await catalog.book("The Left Hand of Darkness", price="12.50", stock=5)
    await add_to_cart(gql, token, book["id"], 2)
    shipped = data(await checkout(gql, token))["checkout"]
    await add_to_cart(gql, token, book["id"], 1)
    cancelled = data(await checkout(gql, token))["checkout"]
    await deliver(database, settings, smtp)
    placed = [m for m in smtp.to(email) if "order" in m["Subject"]]
    assert len(placed) == 2
    first = text_of(placed[0])
    assert "2 x The Left Hand of Darkness: 25.00 EUR" in first
    assert "Total: 25.00 EUR" in first and "Berlin" in first
    assert link_to(placed[0], order_path(shipped["id"]))
    assert "2 \u00d7 The Left Hand of Darkness" in html_of(placed[0])

    for status in ("CONFIRMED", "SHIPPED"):
        await gql(STATUS, {"id": shipped["id"], "s": status}, token=admin_token)
    await gql(CANCEL, {"id": cancelled["id"]}, token=token)
    await gql(CANCEL, {"id": cancelled["id"]}, token=token)  # changes nothing: no second email
    await deliver(database, settings, smtp)
    subjects = [m["Subject"] for m in smtp.to(email)[3:]]
    assert len(subjects) == 2, subjects
    assert subjects[0].endswith("has shipped") and subjects[1].endswith("was cancelled")
    assert link_to(smtp.to(email)[3], order_path(shipped["id"]))
    assert link_to(smtp.to(email)[4], order_path(cancelled["id"]))


async def test_a_checkout_queues_the_email_the_mail_service_would(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    """The checkout queues its email in its own write statement: the same payload as the one
    `app.mail.service.to_user` queues from the order once it is there."""
    email = unique_email()
    token = (await register(gql, email, full_name="Octavia Reader"))["accessToken"]
    for title, price in (("Kindred", "9.99"), ("Dawn", "14.50")):
        await add_to_cart(gql, token, (await catalog.book(title, price=price, stock=5))["id"], 2)
    order_id = decode_id(data(await checkout(gql, token))["checkout"]["id"], "Order", field="id")
    placed = text(
        "SELECT topic, payload FROM outbox_messages "
        "WHERE payload->>'to' = :to AND payload->>'template' = 'order_placed' ORDER BY id"
    )
    async with database.sessionmaker() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        items = (await orders_service.items_of(session, [order_id]))[order_id]
        lines = [OrderLine(i.book_id, i.title, i.unit_price, i.quantity) for i in items]
        email_values = inventory.order_email(order, lines)
        await mail.to_user(session, Template.ORDER_PLACED, user_id=order.user_id, **email_values)
        (queued, expected) = (await session.execute(placed, {"to": email})).all()
        await session.rollback()  # the second one was only for the comparison
    assert queued == expected
    assert queued.payload["name"] == "Octavia Reader"
    assert queued.payload["context"]["order"]["number"] == order_id
    assert [line["title"] for line in queued.payload["context"]["order"]["lines"]] == [
        "Kindred",
        "Dawn",
    ]


async def test_a_served_prebook_is_emailed(
    catalog: Catalog,
    gql: GraphQL,
    admin_token: str,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    book = await catalog.book("The Dispossessed", price="18.00", stock=0)
    data(await prebook(gql, token, book["id"], 2))
    served = data(await gql(RESTOCK, {"book": book["id"], "quantity": 2}, token=admin_token))
    order = served["restockBook"]["fulfilledPrebooks"][0]["order"]
    await deliver(database, settings, smtp)
    notice = smtp.to(email)[-1]
    assert notice["Subject"] == "Your pre-order of “The Dispossessed” is ready"
    assert "2 \u00d7 “The Dispossessed”" in text_of(notice) and "36.00 EUR" in text_of(notice)
    assert link_to(notice, order_path(order["id"]))
