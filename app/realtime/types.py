"""GraphQL types of the subscriptions' events."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Self

import strawberry

from app.books.types import Book
from app.realtime.service import BookAvailability


@strawberry.type(
    description="A book whose stock changed: as it is now. Everyone gets it when the "
    "availability changes; admins on every stock change, with `quantityAvailable`."
)
class BookAvailabilityEvent:
    book: Book = strawberry.field(description="The book, as it is now.")
    quantity_available: int | None = strawberry.field(
        description="Copies for sale now (none while prebooks wait): admins only, null for "
        "everyone else."
    )
    # Anonymous subscribers' messages of this event, rendered once (app.graphql.websocket).
    renderings: strawberry.Private[dict[Hashable, asyncio.Future[str | None]] | None] = None

    @classmethod
    def from_event(cls, event: BookAvailability) -> Self:
        return cls(
            book=Book.from_row(event.book),
            quantity_available=event.quantity_available,
            renderings=event.renderings,
        )
