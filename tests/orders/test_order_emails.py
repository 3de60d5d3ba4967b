"""The emails about orders: placed, shipped, cancelled, and a prebook served."""

from __future__ import annotations

from typing import Any

import pytest
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
    code,
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


PLACED = text(
    "SELECT topic, payload FROM outbox_messages "
    "WHERE payload->>'to' = :to AND payload->>'template' = 'order_placed' ORDER BY id"
)


def order_path(order_id: str) -> str:
    return ORDER.format(id=order_id)


async def placed_emails(database: Database, to: str) -> list[Any]:
    async with database.sessionmaker() as session:
        return list((await session.execute(PLACED, {"to": to})).all())


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


async def test_a_replayed_checkout_queues_no_second_email(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    await add_to_cart(gql, token, (await catalog.book("Parable", stock=5))["id"], 1)
    first = data(await checkout(gql, token, key="replayed-key"))["checkout"]
    again = data(await checkout(gql, token, key="replayed-key"))["checkout"]
    assert again["id"] == first["id"]
    (placed,) = await placed_emails(database, email)
    assert placed.payload["links"]["order"]["path"] == order_path(first["id"])


async def test_a_refused_checkout_queues_no_email(
    catalog: Catalog, gql: GraphQL, database: Database
) -> None:
    email = unique_email()
    token = (await register(gql, email))["accessToken"]
    await add_to_cart(gql, token, (await catalog.book("Wild Seed", stock=5))["id"], 1)
    placed = data(await checkout(gql, token))["checkout"]
    assert code(await checkout(gql, token)) == "CART_EMPTY"
    scarce = await catalog.book("Fledgling", stock=1)
    await add_to_cart(gql, token, scarce["id"], 1)
    rival = (await register(gql))["accessToken"]
    await add_to_cart(gql, rival, scarce["id"], 1)
    assert "errors" not in await checkout(gql, rival)
    assert code(await checkout(gql, token)) == "CART_OUT_OF_STOCK"
    (queued,) = await placed_emails(database, email)
    assert queued.payload["links"]["order"]["path"] == order_path(placed["id"])


# Text that JSON, SQL literals, HTML and JavaScript each escape in their own way.
_AWKWARD_ADDRESS = {
    "fullName": 'Zoë "Q" O\'Brien \\ <script>&amp;',
    "line1": "ул. Льва Толстого 16 \u2028 📚",
    "line2": "北京市 '\\n' \u2028 next",
    "city": "São Paulo \u2028",
    "postalCode": "01000-000",
    "country": "BR",
}


@pytest.mark.parametrize(
    ("full_name", "titles", "address"),
    [
        ("Octavia Reader", ("Kindred", "Dawn"), None),
        (
            'Zoë "Q" O\'Brien \\ <script>&amp; 😀 Жук \u2028 é',
            (
                "The \"Quoted\" Title \\ back\\slash 'single'",
                "<script>alert('x')</script> &amp; \u2028 line 🐉",
                "源氏物語 عربي Ελληνικά",
            ),
            _AWKWARD_ADDRESS,
        ),
    ],
)
async def test_a_checkout_queues_the_email_the_mail_service_would(
    catalog: Catalog,
    gql: GraphQL,
    database: Database,
    full_name: str,
    titles: tuple[str, ...],
    address: dict[str, Any] | None,
) -> None:
    """The checkout queues its email in its own write statement: the same payload as the one
    `app.mail.service.to_user` queues from the order once it is there."""
    email = unique_email()
    token = (await register(gql, email, full_name=full_name))["accessToken"]
    for index, title in enumerate(titles):
        book = await catalog.book(title, price=f"{9 + index}.99", stock=5)
        await add_to_cart(gql, token, book["id"], 2)
    placed_order = data(await checkout(gql, token, address=address))["checkout"]
    order_id = decode_id(placed_order["id"], "Order", field="id")
    async with database.sessionmaker() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        items = (await orders_service.items_of(session, [order_id]))[order_id]
        lines = [OrderLine(i.book_id, i.title, i.unit_price, i.quantity) for i in items]
        email_values = inventory.order_email(order, lines)
        await mail.to_user(session, Template.ORDER_PLACED, user_id=order.user_id, **email_values)
        (queued, expected) = (await session.execute(PLACED, {"to": email})).all()
        await session.rollback()  # the second one was only for the comparison
    assert queued == expected
    assert queued.payload["name"] == full_name
    order_values = queued.payload["context"]["order"]
    assert order_values["number"] == order_id
    assert [line["title"] for line in order_values["lines"]] == list(titles)
    assert (
        order_values["address"]["full_name"] == (address or {"fullName": "Ada Reader"})["fullName"]
    )
    if address is not None:
        assert order_values["address"]["line2"] == address["line2"]
    assert queued.payload["links"]["order"]["path"] == order_path(placed_order["id"])


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
