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


class OrderLoader(ContextLoader[int, Record | None]):
    """Orders by id that the signed-in user may see (theirs; any for admins)."""

    async def batch_load_fn(self, keys: list[int]) -> list[Record | None]:
        viewer = await self.context.optional_viewer()
        if viewer is None:
            return [None] * len(keys)
        async with self.context.session() as session:
            found = await orders_service.get_orders(session, keys, viewer)
        return [found.get(key) for key in keys]
