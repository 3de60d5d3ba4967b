"""Every SQL statement that moves stock: the books' stock and hold counters, the prebook
queues, and the orders that copies leave in."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, column, func, insert, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.db import statements
from app.db.rows import Shape
from app.inventory.schemas import Basket, OrderLine, Placed, StockRow
from app.orders.models import Order, OrderItem
from app.prebooks.models import QUEUE_ORDER, Prebook, PrebookStatus

STOCK = Shape(StockRow, Book)

# A checkout, on asyncpg directly, with the cart locked: what the cart holds, with its books
# locked in ascending id order (whoever asks: checkouts sharing books wait for each other
# instead of deadlocking), unless the idempotency key names an order already.
_BASKET = """
WITH previous AS (
  SELECT id FROM orders WHERE user_id = $2 AND idempotency_key = $3
), wanted AS (
  SELECT book_id, quantity FROM cart_items WHERE cart_id = $1
), locked AS MATERIALIZED (
  SELECT id, title, price, stock_quantity, prebook_demand, is_archived, release_date
  FROM books
  WHERE id IN (SELECT book_id FROM wanted) AND NOT EXISTS (SELECT FROM previous)
  ORDER BY id
  FOR UPDATE
)
SELECT (SELECT id FROM previous) AS previous, w.book_id, w.quantity,
       l.id, l.title, l.price, l.stock_quantity, l.prebook_demand, l.is_archived, l.release_date
FROM (SELECT) AS one
LEFT JOIN wanted w ON true
LEFT JOIN locked l ON l.id = w.book_id
"""
# Then, in one statement: take the copies (each line only where the stock holds it: the
# CHECK constraint `stock_quantity >= 0` is the last backstop), record the order and its
# lines if every line was taken, empty the cart and queue the order's email (`{email}`: SQL
# the mail domain gives, naming the CTE `placed` and the parameters `user_id` and
# `order_values`). The order's row (id, created_at, updated_at), or none.
_TAKE_AND_PLACE = """
WITH taken AS (
  UPDATE books SET stock_quantity = books.stock_quantity - line.quantity, updated_at = now()
  FROM unnest(:book_ids::bigint[], :quantities::int[]) AS line(book_id, quantity)
  WHERE books.id = line.book_id AND books.stock_quantity >= line.quantity
  RETURNING books.id
), placed AS (
  INSERT INTO orders (user_id, status, subtotal, total, currency, ship_full_name, ship_line1,
                      ship_line2, ship_city, ship_postal_code, ship_country, idempotency_key,
                      request_fingerprint)
  SELECT :user_id, :status, :subtotal, :subtotal, :currency, :ship_full_name, :ship_line1,
         :ship_line2, :ship_city, :ship_postal_code, :ship_country, :idempotency_key,
         :request_fingerprint
  WHERE (SELECT count(*) FROM taken) = cardinality(:book_ids::bigint[])
  RETURNING id, created_at, updated_at
), items AS (
  INSERT INTO order_items (order_id, book_id, title, unit_price, quantity, line_total)
  SELECT placed.id, line.*
  FROM placed, unnest(:book_ids::bigint[], :titles::text[], :unit_prices::numeric[],
                      :quantities::int[], :line_totals::numeric[])
    AS line
), emptied AS (
  DELETE FROM cart_items WHERE cart_id = :cart_id AND EXISTS (SELECT FROM placed)
), mailed AS (
{email}
)
SELECT id, created_at, updated_at FROM placed
"""
_TAKE_AND_PLACE_PARAMETERS = (
    "book_ids",
    "quantities",
    "user_id",
    "status",
    "subtotal",
    "currency",
    "ship_full_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_postal_code",
    "ship_country",
    "idempotency_key",
    "request_fingerprint",
    "titles",
    "unit_prices",
    "line_totals",
    "cart_id",
    "order_values",
)
EMAIL_INPUTS = {"orders": "placed", "user_id": "user_id", "values": "order_values"}
"""What the email's SQL given to `take_and_place` may name (see `app.mail.service`)."""


@cache
def _take_and_place(email: str) -> statements.Prepared:
    """The statement, with the email's SQL in, its named parameters numbered (once per
    email SQL: it is a constant of the caller's)."""
    return statements.Prepared.named(
        _TAKE_AND_PLACE.format(email=email), _TAKE_AND_PLACE_PARAMETERS
    )


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def basket(self, cart_id: int, user_id: int, idempotency_key: str) -> Basket:
        """The cart's lines (call with the cart locked) and their books, locked; or, when
        the user's key names an order, that order's id (nothing locked)."""
        rows = await statements.write(self.session, _BASKET, cart_id, user_id, idempotency_key)
        return Basket(
            previous=rows[0]["previous"],
            wanted={row["book_id"]: row["quantity"] for row in rows if row["book_id"]},
            locked={row["id"]: StockRow(*row[3:]) for row in rows if row["id"] is not None},
        )

    async def take_and_place(
        self, *, cart_id: int, order: Order, lines: Sequence[OrderLine], email: str, values: str
    ) -> Placed | None:
        """Take the lines' copies (the books locked), record `order` (not in the session)
        with its lines, empty the cart and queue the order's email (`email`: its SQL, naming
        what `EMAIL_INPUTS` says; `values`: what it shows but the number, as JSON), in one
        statement; the order's id and clocks, or None when a line's copies were not there
        (roll back then)."""
        address = order.shipping_address
        statement = _take_and_place(email)
        rows = await statements.write(
            self.session,
            statement.sql,
            *statement.args(
                {
                    "book_ids": [line.book_id for line in lines],
                    "quantities": [line.quantity for line in lines],
                    "user_id": order.user_id,
                    "status": order.status.value,
                    "subtotal": order.subtotal,
                    "currency": order.currency,
                    "ship_full_name": address.full_name,
                    "ship_line1": address.line1,
                    "ship_line2": address.line2,
                    "ship_city": address.city,
                    "ship_postal_code": address.postal_code,
                    "ship_country": address.country,
                    "idempotency_key": order.idempotency_key,
                    "request_fingerprint": order.request_fingerprint,
                    "titles": [line.title for line in lines],
                    "unit_prices": [line.unit_price for line in lines],
                    "line_totals": [line.line_total for line in lines],
                    "cart_id": cart_id,
                    "order_values": values,
                }
            ),
        )
        return Placed(*rows[0]) if rows else None

    async def lock(self, book_ids: Sequence[int]) -> dict[int, StockRow]:
        """Lock the books' rows in ascending id order, whoever asks: two checkouts of the
        same books then wait for each other instead of deadlocking."""
        statement = (
            select(*STOCK.columns())
            .where(Book.id.in_(book_ids))
            .order_by(Book.id)
            .with_for_update()
        )
        return {row.id: row for row in STOCK.all(await self.session.execute(statement))}

    async def adjust_holds(self, book_id: int, delta: int) -> None:
        await self.session.execute(
            update(Book)
            .where(Book.id == book_id)
            .values(prebook_demand=Book.prebook_demand + delta, updated_at=func.now())
        )

    async def adjust_stock(self, deltas: dict[int, int]) -> None:
        """Add (or, negative, take) copies, in one statement. The CHECK constraint
        `stock_quantity >= 0` is the backstop against overselling."""
        if not deltas:
            return
        changes = values(
            column("book_id", BigInteger), column("delta", Integer), name="changes"
        ).data(sorted(deltas.items()))
        await self.session.execute(
            update(Book)
            .where(Book.id == changes.c.book_id)
            .values(stock_quantity=Book.stock_quantity + changes.c.delta, updated_at=func.now())
        )

    async def lock_queue(self, book_id: int) -> Sequence[Prebook]:
        """The book's waiting prebooks, first come first, locked (a concurrent cancel waits,
        and one cancelled meanwhile drops out of the queue)."""
        result = await self.session.scalars(
            select(Prebook)
            .where(Prebook.book_id == book_id, Prebook.status == PrebookStatus.PENDING)
            .order_by(*QUEUE_ORDER)
            .with_for_update()
        )
        return result.all()

    async def add_order(self, order: Order, items: list[dict[str, Any]]) -> Order:
        self.session.add(order)
        await self.session.flush()
        await self.session.execute(
            insert(OrderItem), [{**item, "order_id": order.id} for item in items]
        )
        return order
