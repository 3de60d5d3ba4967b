"""Per-request batch loaders of the prebooks domain."""

from __future__ import annotations

from app.graphql.loaders import ContextLoader
from app.prebooks import service as prebooks_service


class QueuePositionLoader(ContextLoader[int, int | None]):
    """Place in the queue of each waiting prebook (None once served or cancelled)."""

    async def batch_load_fn(self, keys: list[int]) -> list[int | None]:
        async with self.context.session() as session:
            positions = await prebooks_service.queue_positions(session, keys)
        return [positions.get(key) for key in keys]
