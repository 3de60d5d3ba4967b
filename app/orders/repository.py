"""Every SQL statement of the orders domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.pagination import KeysetList, column_ordering
from app.db.rows import Shape
from app.orders.models import Order, OrderItem
from app.orders.schemas import OrderFilterInput, OrderItemRow, OrderRow

NEWEST_FIRST = column_ordering("CREATED_AT:DESC", Order.created_at, Order.id, descending=True)
ORDER = Shape(OrderRow, Order)
ITEM = Shape(OrderItemRow, OrderItem)


def row_of(order: Order) -> OrderRow:
    """The read shape of an order row at hand."""
    return OrderRow(*(getattr(order, name) for name in ORDER.names))


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, order_id: int) -> Order | None:
        result = await self.session.scalars(
            select(Order).where(Order.id == order_id).with_for_update()
        )
        return result.one_or_none()

    async def quantities(self, order_id: int) -> dict[int, int]:
        """{book_id: copies} of an order (to put them back in stock)."""
        result = await self.session.execute(
            select(OrderItem.book_id, func.sum(OrderItem.quantity))
            .where(OrderItem.order_id == order_id)
            .group_by(OrderItem.book_id)
        )
        return {book_id: int(quantity) for book_id, quantity in result}

    async def get_rows(self, order_ids: Sequence[int]) -> dict[int, OrderRow]:
        statement = select(*ORDER.columns()).where(Order.id.in_(order_ids))
        return {row.id: row for row in ORDER.all(await self.session.execute(statement))}

    async def items_of(self, order_ids: Sequence[int]) -> dict[int, list[OrderItemRow]]:
        statement = (
            select(*ITEM.columns())
            .where(OrderItem.order_id.in_(order_ids))
            .order_by(OrderItem.order_id, OrderItem.id)
        )
        items: dict[int, list[OrderItemRow]] = {order_id: [] for order_id in order_ids}
        for item in ITEM.all(await self.session.execute(statement)):
            items[item.order_id].append(item)
        return items

    def listing(self, filters: OrderFilterInput) -> KeysetList[OrderRow]:
        statement = select(*ORDER.columns())
        if filters.user_id is not None:
            statement = statement.where(Order.user_id == filters.user_id)
        if filters.status is not None:
            statement = statement.where(Order.status == filters.status)
        if filters.created_after is not None:
            statement = statement.where(Order.created_at >= filters.created_after)
        if filters.created_before is not None:
            statement = statement.where(Order.created_at <= filters.created_before)
        return KeysetList(self.session, statement, NEWEST_FIRST, ORDER.of)
