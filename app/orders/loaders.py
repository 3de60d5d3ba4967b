"""Per-request batch loaders of the orders domain."""

from __future__ import annotations

from app.graphql.loaders import ContextLoader
from app.graphql.node import viewers_rows
from app.orders import service as orders_service
from app.orders.schemas import OrderItemRow, OrderRow


class OrderItemsLoader(ContextLoader[int, list[OrderItemRow]]):
    """Lines of orders the caller may already see (visibility is checked on the order)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[OrderItemRow]]:
        async with self.context.session() as session:
            found = await orders_service.items_of(session, keys)
        return [found.get(key, []) for key in keys]


class OrderLoader(ContextLoader[int, OrderRow | None]):
    """Orders by id that the signed-in user may see (theirs; any for admins)."""

    async def batch_load_fn(self, keys: list[int]) -> list[OrderRow | None]:
        return await viewers_rows(self.context, keys, orders_service.get_orders)
