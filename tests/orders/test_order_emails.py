"""The emails about orders: placed, shipped, cancelled, and a prebook served."""

from __future__ import annotations

from app.core.config import Settings
from app.db.session import Database
from app.mail.links import ORDER
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
