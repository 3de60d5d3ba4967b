"""Per-request batch loaders of the wishlist."""

from __future__ import annotations

from app.graphql.loaders import ContextLoader
from app.wishlist import service as wishlist_service


class InWishlistLoader(ContextLoader[int, bool]):
    """Whether each book is in the signed-in user's wishlist: one query per request."""

    async def batch_load_fn(self, keys: list[int]) -> list[bool]:
        viewer = await self.context.optional_viewer()
        if viewer is None:
            return [False] * len(keys)
        async with self.context.session() as session:
            listed = await wishlist_service.listed_books(session, user_id=viewer.id, book_ids=keys)
        return [key in listed for key in keys]
