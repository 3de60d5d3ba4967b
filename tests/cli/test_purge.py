"""`poetry run purge`: deletes the expired guest carts (and old merge records), for cron."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from app.cli import purge
from app.core.config import Settings, get_settings
from app.db.session import Database
from tests.books.factory import Catalog
from tests.support import GraphQL, code, data, new_guest_cart, register, run_in_thread

pytestmark = pytest.mark.committing

ADD = "mutation($b: ID!) { addToCart(bookId: $b) { totalQuantity } }"
MERGE = "mutation($t: String!) { mergeGuestCart(cartToken: $t) { totalQuantity } }"


@pytest.fixture
def configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("GUEST_CART_TTL_DAYS", "30")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def age(database: Database, statement: str, token: str) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(
            text(statement), {"hash": hashlib.sha256(token.encode()).hexdigest()}
        )


async def rows(database: Database, query: str) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text(query))).scalar_one())


async def test_purge_deletes_expired_guest_carts_only(
    catalog: Catalog,
    gql: GraphQL,
    database: Database,
    configured: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    book = await catalog.book(stock=10)
    expired, alive, merged = [await new_guest_cart(gql) for _ in range(3)]
    for token in (expired, alive, merged):
        await gql(ADD, {"b": book["id"]}, headers={"X-Cart-Token": token})
    customer = (await register(gql))["accessToken"]
    assert data(await gql(MERGE, {"t": merged}, token=customer))["mergeGuestCart"]
    await age(
        database,
        "UPDATE carts SET last_used_at = now() - interval '31 days' WHERE token_hash = :hash",
        expired,
    )
    await age(
        database,
        "UPDATE merged_guest_carts SET merged_at = now() - interval '31 days' "
        "WHERE token_hash = :hash",
        merged,
    )
    # Expired, it is refused already; the purge only reclaims its rows.
    assert code(await gql("{ cart { id } }", headers={"X-Cart-Token": expired})) == (
        "CART_TOKEN_INVALID"
    )

    # Two review writes of the customer, one of them older than the rate limit's window.
    review = data(
        await gql(
            "mutation($b: ID!) { writeReview(input: {bookId: $b, rating: 4}) { id } }",
            {"b": book["id"]},
            token=customer,
        )
    )["writeReview"]["id"]
    rewrite = "mutation($id: ID!) { updateReview(id: $id, input: {rating: 5}) { id } }"
    data(await gql(rewrite, {"id": review}, token=customer))
    async with database.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE review_writes SET created_at = now() - interval '61 minutes' "
                "WHERE id = (SELECT min(id) FROM review_writes)"
            )
        )

    async with database.engine.begin() as connection:
        # The customer's verification email, delivered long ago.
        await connection.execute(
            text(
                "UPDATE outbox_messages SET status = 'DONE', "
                "processed_at = now() - interval '31 days'"
            )
        )
    run_in_thread(purge.main, [])  # the console script, with an event loop of its own
    assert capsys.readouterr().out.strip() == (
        "purged 1 expired guest cart and 1 merge record (older than 30 days)\n"
        "purged 1 delivered outbox message (older than 30 days)\n"
        "purged 1 review write record (older than 60 minutes)"
    )
    assert await rows(database, "SELECT count(*) FROM review_writes") == 1
    assert await rows(database, "SELECT count(*) FROM outbox_messages") == 0
    assert await rows(database, "SELECT count(*) FROM carts WHERE token_hash IS NOT NULL") == 1
    assert await rows(database, "SELECT count(*) FROM merged_guest_carts") == 0
    assert await rows(database, "SELECT count(*) FROM cart_items") == 2  # alive's, the user's
    alive_cart = data(await gql("{ cart { totalQuantity } }", headers={"X-Cart-Token": alive}))
    assert alive_cart["cart"]["totalQuantity"] == 1
    assert await purge.purge() == (
        "purged 0 expired guest carts and 0 merge records (older than 30 days)\n"
        "purged 0 delivered outbox messages (older than 30 days)\n"
        "purged 0 review write records (older than 60 minutes)"
    )
