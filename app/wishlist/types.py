"""GraphQL types of the wishlist."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Self

import strawberry
from strawberry.types import Info

from app.books.types import Book
from app.graphql.context import Context
from app.graphql.node import Node, global_id, viewers_nodes
from app.wishlist import service as wishlist_service
from app.wishlist.schemas import WishlistItemRow


@strawberry.type(description="A book you saved for later.")
class WishlistItem(Node):
    pk: strawberry.Private[int]
    book: Book = strawberry.field(description="The book, with its live price and availability.")
    added_at: datetime = strawberry.field(description="When it was saved.")
    notify_when_available: bool = strawberry.field(
        description="Whether you get an email each time the book becomes purchasable again "
        "(restocked after selling out, or released); `setWishlistNotification` sets it."
    )
    notified_at: datetime | None = strawberry.field(
        description="When the last of those emails was queued; null if none yet."
    )

    @classmethod
    def from_row(cls, row: WishlistItemRow) -> Self:
        return cls(
            id=global_id("WishlistItem", row.item_id),
            pk=row.item_id,
            book=Book.from_row(row.book),
            added_at=row.added_at,
            notify_when_available=row.notify_when_available,
            notified_at=row.notified_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Only your own wishlist items resolve."""
        fetch = functools.partial(wishlist_service.get_items, stock=info.context.stock)
        return await viewers_nodes(info, node_ids, fetch, cls.from_row)
