"""Back-in-stock alerts: an email each time a wished book becomes purchasable again, one
per subscriber, queued in one statement however many; unsubscribing without signing in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.cli import prebooks as fulfil_command
from app.core.config import Settings, get_settings
from app.db.session import Database
from app.graphql.ids import decode_id
from app.mail.links import BOOK, UNSUBSCRIBE
from tests.books.factory import Catalog
from tests.support import (
    RESTOCK,
    GraphQL,
    StatementCounter,
    add_to_cart,
    checkout,
    code,
    data,
    register,
    unique_email,
)
from tests.support.mail import SmtpCatcher, deliver, link_to, token_in

NOTIFY = """mutation($b: ID!, $on: Boolean!) {
  setWishlistNotification(bookId: $b, enabled: $on) { id notifyWhenAvailable notifiedAt book { id } } }"""
UNSUBSCRIBE_MUTATION = "mutation($t: String!) { unsubscribe(token: $t) }"
WISHLIST = "{ wishlist(first: 5) { edges { node { notifyWhenAvailable book { id } } } } }"


def alerts(smtp: SmtpCatcher, email: str) -> list[str]:
    return [m["Subject"] for m in smtp.to(email) if m["Subject"].endswith("is available")]


async def test_a_restock_of_a_sold_out_book_alerts_each_subscriber_once(
    catalog: Catalog,
    gql: GraphQL,
    admin_token: str,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
) -> None:
    book = await catalog.book("The Lathe of Heaven", stock=1)
    waiting, other = unique_email("waiting"), unique_email("other")
    token = (await register(gql, waiting))["accessToken"]
    other_token = (await register(gql, other))["accessToken"]
    item = data(await gql(NOTIFY, {"b": book["id"], "on": True}, token=token))
    assert item["setWishlistNotification"]["notifyWhenAvailable"] is True  # added, alert on
    assert data(await gql(WISHLIST, token=token))["wishlist"]["edges"][0]["node"] == {
        "notifyWhenAvailable": True,
        "book": {"id": book["id"]},
    }
    await gql(
        "mutation($b: ID!) { addToWishlist(bookId: $b) { id } }",
        {"b": book["id"]},
        token=other_token,
    )

    await gql(RESTOCK, {"book": book["id"], "quantity": 1}, token=admin_token)  # still in stock
    await deliver(database, settings, smtp)
    assert alerts(smtp, waiting) == []

    buyer = (await register(gql))["accessToken"]
    await add_to_cart(gql, buyer, book["id"], 2)
    assert "errors" not in await checkout(gql, buyer)  # sold out
    await gql(RESTOCK, {"book": book["id"], "quantity": 3}, token=admin_token)
    await gql(RESTOCK, {"book": book["id"], "quantity": 3}, token=admin_token)  # no news
    await deliver(database, settings, smtp)
    assert alerts(smtp, waiting) == ["“The Lathe of Heaven” is available"]
    assert alerts(smtp, other) == []  # wished, but no alert asked for
    alert = next(m for m in smtp.to(waiting) if m["Subject"].endswith("is available"))
    assert link_to(alert, BOOK.format(id=book["id"]))
    assert alert["List-Unsubscribe"] == f"<{link_to(alert, UNSUBSCRIBE)}>"
    notified = data(await gql(NOTIFY, {"b": book["id"], "on": True}, token=token))
    assert notified["setWishlistNotification"]["notifiedAt"] is not None

    # The unsubscribe link works without signing in, and again.
    unsubscribe = {"t": token_in(alert, UNSUBSCRIBE)}
    assert data(await gql(UNSUBSCRIBE_MUTATION, unsubscribe))["unsubscribe"] is True
    assert data(await gql(UNSUBSCRIBE_MUTATION, unsubscribe))["unsubscribe"] is True
    edges = data(await gql(WISHLIST, token=token))["wishlist"]["edges"]
    assert edges[0]["node"]["notifyWhenAvailable"] is False
    forged = unsubscribe["t"][:-2] + ("AA" if not unsubscribe["t"].endswith("AA") else "BB")
    assert code(await gql(UNSUBSCRIBE_MUTATION, {"t": forged})) == "ACCOUNT_TOKEN_INVALID"
    off = {"b": book["id"], "on": False}
    assert code(await gql(NOTIFY, off, token=buyer)) == "WISHLIST_ITEM_NOT_FOUND"


async def test_a_restock_of_a_book_ten_thousand_wish_for_queues_them_in_one_statement(
    catalog: Catalog,
    gql: GraphQL,
    admin_token: str,
    database: Database,
    statements: StatementCounter,
) -> None:
    few, many = await catalog.book("Few", stock=0), await catalog.book("Many", stock=0)
    async with database.sessionmaker() as session, session.begin():
        for book, readers in ((few, 1), (many, 10_000)):
            await session.execute(
                text(
                    "WITH readers AS (INSERT INTO users (email, full_name, password_hash) "
                    "SELECT 'reader-' || CAST(:book AS BIGINT) || '-' || g || '@example.com', 'Reader', 'x' "
                    "FROM generate_series(1, :n) g RETURNING id) "
                    "INSERT INTO wishlist_items (user_id, book_id, notify_when_available, "
                    "notify_since) SELECT id, CAST(:book AS BIGINT), true, now() FROM readers"
                ),
                {"book": decode_id(book["id"], "Book", field="id"), "n": readers},
            )
    counts = []
    for book in (few, many):
        statements.statements.clear()
        data(await gql(RESTOCK, {"book": book["id"], "quantity": 5}, token=admin_token))
        counts.append(statements.count)
    assert counts[0] == counts[1]  # the same statements for 1 subscriber and for 10,000
    async with database.sessionmaker() as session:
        queued = await session.scalar(
            text(
                "SELECT count(*) FROM outbox_messages WHERE payload->>'template' = 'back_in_stock'"
            )
        )
    assert queued == 10_001


@pytest.fixture
def configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.committing
async def test_a_release_is_announced_once_by_the_daily_command(
    catalog: Catalog,
    gql: GraphQL,
    database: Database,
    settings: Settings,
    smtp: SmtpCatcher,
    configured: None,
) -> None:
    book = await catalog.book("Always Coming Home", stock=4, released_days_ago=-30)
    early, late = unique_email("early"), unique_email("late")
    for email in (early, late):
        token = (await register(gql, email))["accessToken"]
        await gql(NOTIFY, {"b": book["id"], "on": True}, token=token)
    async with database.engine.begin() as connection:
        # The release date comes: the early subscriber asked before it, the late one after.
        await connection.execute(
            text("UPDATE books SET release_date = current_date WHERE title = 'Always Coming Home'")
        )
        await connection.execute(
            text(
                "UPDATE wishlist_items w SET notify_since = now() - interval '2 days' "
                "FROM users u WHERE u.id = w.user_id AND u.email = :e"
            ),
            {"e": early},
        )
    lines, ok = await fulfil_command.fulfil_all()
    assert ok and any(line.endswith("released, 1 alert queued") for line in lines), lines
    again, _ = await fulfil_command.fulfil_all()
    assert not any("alert" in line for line in again), again  # announced once
    await deliver(database, settings, smtp)
    assert alerts(smtp, early) == ["“Always Coming Home” is available"]
    assert alerts(smtp, late) == []
