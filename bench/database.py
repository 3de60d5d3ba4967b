"""The benchmark's own database: where it lives, its life cycle, and the stock ledger that
proves the checkout scenario sold nothing it did not have."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.db import migrations
from app.db.embedded import EmbeddedPostgres


def plain_dsn(url: str) -> str:
    """asyncpg's own spelling of a SQLAlchemy URL (the test suite's too)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def configured_server() -> str | None:
    """The server of DATABASE_URL, else of TEST_DATABASE_URL (environment or .env)."""
    settings = Settings()
    return settings.database_url or settings.test_database_url


@asynccontextmanager
async def postgres_server(url: str | None) -> AsyncIterator[str]:
    """A URL on `url`'s server, or on an embedded PostgreSQL in a temporary directory."""
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="bookstore-bench-pg-") as data_dir:
        server = await asyncio.to_thread(
            EmbeddedPostgres, Path(data_dir) / "data", cleanup="delete"
        )
        try:
            yield server.url("postgres")
        finally:
            server.stop()


async def on_server(server_url: str, statement: str) -> None:
    """One statement on a connection of its own (CREATE and DROP DATABASE run outside
    any transaction). The test suite creates its databases with it too."""
    connection = await asyncpg.connect(plain_dsn(server_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def bench_database(server_url: str) -> AsyncIterator[str]:
    """A new, migrated database on the server, dropped at the end whatever happens."""
    name = f"bookstore_bench_{uuid.uuid4().hex[:12]}"
    await on_server(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        # Alembic's env.py runs its own event loop: not on this one.
        await asyncio.to_thread(migrations.upgrade, url)
        yield url
    finally:
        await on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def server_facts(url: str) -> dict[str, object]:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        version = await connection.fetchval("SHOW server_version")
        trigram = await connection.fetchval("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    finally:
        await connection.close()
    return {"postgresql": version, "pg_trgm": trigram is not None}


HOT_STOCK = 1_000_000  # enough that no run sells out: every checkout takes the sale path
_STOCK = "SELECT id, stock_quantity FROM books WHERE id = ANY($1::bigint[])"
_ORDERED = """
SELECT book_id, sum(quantity)::bigint FROM order_items WHERE book_id = ANY($1::bigint[])
GROUP BY book_id
"""


@dataclass(frozen=True)
class StockCheck:
    """The checkout ledger of one run: every copy that left a hot book's stock is in an
    order, and no stock went below zero."""

    initial: int
    ordered: int
    remaining: int
    orders: int
    lowest: int
    unbalanced: int  # hot books whose copies ordered + copies left != copies shelved

    @property
    def oversold(self) -> bool:
        return self.unbalanced > 0 or self.lowest < 0


class StockLedger:
    """Puts HOT_STOCK copies of each hot book on the shelf before a checkout run and
    accounts for them after it (call `close` once the server has stopped, so no request
    is still in flight)."""

    def __init__(self, url: str, book_ids: list[int]) -> None:
        self.dsn = plain_dsn(url)
        self.book_ids = book_ids
        self._ordered: dict[int, int] = {}
        self._orders = 0

    async def open(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(
                "UPDATE books SET stock_quantity = $2 WHERE id = ANY($1::bigint[])",
                self.book_ids,
                HOT_STOCK,
            )
            self._ordered = await _per_book(connection, _ORDERED, self.book_ids)
            self._orders = await connection.fetchval("SELECT count(*) FROM orders")
        finally:
            await connection.close()

    async def close(self) -> StockCheck:
        connection = await asyncpg.connect(self.dsn)
        try:
            stock = await _per_book(connection, _STOCK, self.book_ids)
            ordered = await _per_book(connection, _ORDERED, self.book_ids)
            orders = await connection.fetchval("SELECT count(*) FROM orders")
        finally:
            await connection.close()
        sold = {i: ordered.get(i, 0) - self._ordered.get(i, 0) for i in self.book_ids}
        return StockCheck(
            initial=HOT_STOCK * len(self.book_ids),
            ordered=sum(sold.values()),
            remaining=sum(stock.values()),
            orders=orders - self._orders,
            lowest=min(stock.values()),
            unbalanced=sum(sold[i] + stock[i] != HOT_STOCK for i in self.book_ids),
        )


async def _per_book(connection: asyncpg.Connection, query: str, ids: list[int]) -> dict[int, int]:
    """A (book id, number) query's rows as a dict."""
    return {row[0]: row[1] for row in await connection.fetch(query, ids)}
