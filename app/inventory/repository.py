"""Every SQL statement that moves stock: the books' stock and hold counters, the prebook
queues, and the orders that copies leave in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, column, func, insert, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.db.rows import Shape
from app.inventory.schemas import StockRow
from app.orders.models import Order, OrderItem
from app.prebooks.models import QUEUE_ORDER, Prebook, PrebookStatus

STOCK = Shape(StockRow, Book)


class InventoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
