"""Every SQL statement that moves stock: the books' stock and hold counters, the prebook
queues, and the orders that copies leave in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    column,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.db import statements as sql
from app.db.rows import Shape
from app.graphql.ids import encode_id_sql
from app.inventory.schemas import Basket, NewOrder, OrderLine, StockRow
from app.mail import links
from app.mail import service as mail
from app.mail.schemas import Template
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
# The email the statement below queues, in the outbox as `app.mail.service.to_user` queues
# it: the order's values as `app.inventory.service.order_email` gives them but for what only
# the statement knows (the new order's number and the link to its page), $19 (JSON) the rest.
_PLACED = table("placed", column("id", BigInteger))
_ORDER_PAGE_BEFORE, _ORDER_PAGE_AFTER = links.ORDER.split("{id}")
_ORDER_PLACED_EMAIL = mail.to_user_in(
    Template.ORDER_PLACED,
    user_id=literal_column("$3"),
    context=func.jsonb_build_object(
        "order",
        func.jsonb_build_object("number", _PLACED.c.id, type_=JSONB).op("||")(
            literal_column("$19::text::jsonb")
        ),
        type_=JSONB,
    ),
    links=func.jsonb_build_object(
        "order",
        func.jsonb_build_object(
            "path",
            literal(_ORDER_PAGE_BEFORE)
            + encode_id_sql("Order", _PLACED.c.id)
            + literal(_ORDER_PAGE_AFTER),
        ),
        type_=JSONB,
    ),
)
_ORDER_PLACED_EMAIL_SQL = str(
    _ORDER_PLACED_EMAIL.compile(
        dialect=asyncpg_dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
)
# Then, in one statement: take the copies (each line only where the stock holds it: the
# CHECK constraint `stock_quantity >= 0` is the last backstop), record the order and its
# lines if every line was taken, empty the cart and queue the order's email. The order's row
# (id, created_at, updated_at), or none.
_TAKE_AND_PLACE = f"""
WITH taken AS (
  UPDATE books SET stock_quantity = books.stock_quantity - line.quantity, updated_at = now()
  FROM unnest($1::bigint[], $2::int[]) AS line(book_id, quantity)
  WHERE books.id = line.book_id AND books.stock_quantity >= line.quantity
  RETURNING books.id
), placed AS (
  INSERT INTO orders (user_id, status, subtotal, total, currency, ship_full_name, ship_line1,
                      ship_line2, ship_city, ship_postal_code, ship_country, idempotency_key,
                      request_fingerprint)
  SELECT $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
  WHERE (SELECT count(*) FROM taken) = cardinality($1::bigint[])
  RETURNING id, created_at, updated_at
), items AS (
  INSERT INTO order_items (order_id, book_id, title, unit_price, quantity, line_total)
  SELECT placed.id, line.*
  FROM placed, unnest($1::bigint[], $15::text[], $16::numeric[], $2::int[], $17::numeric[])
    AS line
), emptied AS (
  DELETE FROM cart_items WHERE cart_id = $18 AND EXISTS (SELECT FROM placed)
), mailed AS (
{_ORDER_PLACED_EMAIL_SQL}
)
SELECT id, created_at, updated_at FROM placed
"""  # noqa: S608 - the f-string holds a statement compiled from constants


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def basket(self, cart_id: int, user_id: int, idempotency_key: str) -> Basket:
        """The cart's lines (call with the cart locked) and their books, locked; or, when
        the user's key names an order, that order's id (nothing locked)."""
        rows = await sql.write(self.session, _BASKET, cart_id, user_id, idempotency_key)
        return Basket(
            previous=rows[0]["previous"],
            wanted={row["book_id"]: row["quantity"] for row in rows if row["book_id"]},
            locked={row["id"]: StockRow(*row[3:]) for row in rows if row["id"] is not None},
        )

    async def take_and_place(
        self,
        *,
        cart_id: int,
        order: NewOrder,
        lines: Sequence[OrderLine],
        email: str,
    ) -> tuple[int, datetime, datetime] | None:
        """Take the lines' copies (the books locked), record the order with its lines,
        empty the cart and queue the order's email (`email`: its values but the number, as
        JSON), in one statement; the order's id and clocks, or None when a line's copies
        were not there (roll back then)."""
        address = order.shipping_address
        rows = await sql.write(
            self.session,
            _TAKE_AND_PLACE,
            [line.book_id for line in lines],
            [line.quantity for line in lines],
            order.user_id,
            order.status.value,
            order.subtotal,
            order.currency,
            address.full_name,
            address.line1,
            address.line2,
            address.city,
            address.postal_code,
            address.country,
            order.idempotency_key,
            order.request_fingerprint,
            [line.title for line in lines],
            [line.unit_price for line in lines],
            [line.line_total for line in lines],
            cart_id,
            email,
        )
        if not rows:
            return None
        order_id, created_at, updated_at = rows[0]
        return order_id, created_at, updated_at

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
