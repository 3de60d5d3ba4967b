"""Per-request batch loaders of the orders domain."""

from __future__ import annotations

from app.db.pagination import Record
from app.graphql.loaders import ContextLoader
from app.orders import service as orders_service


class OrderItemsLoader(ContextLoader[int, list[Record]]):
    """Lines of orders the caller may already see (visibility is checked on the order)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[Record]]:
        async with self.context.session() as session:
            found = await orders_service.items_of(session, keys)
        return [found.get(key, []) for key in keys]
