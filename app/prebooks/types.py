"""GraphQL types of prebooks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry
from strawberry.types import Info

from app.addresses.types import Address
from app.books.loaders import AnyBookLoader
from app.books.types import Book
from app.graphql.context import Context
from app.graphql.enums import graphql_enum
from app.graphql.node import Node, global_id, viewers_nodes
from app.orders.loaders import OrderLoader
from app.orders.types import Order
from app.prebooks import service as prebooks_service
from app.prebooks.loaders import QueuePositionLoader
from app.prebooks.models import Prebook as PrebookModel
from app.prebooks.models import PrebookStatus
from app.prebooks.schemas import PrebookRow

graphql_enum(
    description="Where a prebook is.",
    values={
        "PENDING": "Waiting in the book's queue.",
        "FULFILLED": "Served: it became a CONFIRMED order (see `order`).",
        "CANCELLED": "Cancelled before it was served.",
    },
)(PrebookStatus)


@strawberry.type(
    description="A pre-order of a book that can't be bought now (not released or sold out), "
    "served first-come-first-served when copies arrive, at the lower of the price when "
    "prebooked and the price then."
)
class Prebook(Node):
    pk: strawberry.Private[int]
    quantity: int = strawberry.field(description="Copies reserved (1-10).")
    shipping_address: Address = strawberry.field(description="Where the order will ship.")
    status: PrebookStatus = strawberry.field(description="Waiting, served or cancelled.")
    price_at_prebook: Decimal = strawberry.field(
        description="The book's price when prebooked: the most you will pay per copy."
    )
    created_at: datetime = strawberry.field(description="When it was made (its queue place).")
    fulfilled_at: datetime | None = strawberry.field(description="When it was served.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    book_id: strawberry.Private[int]
    order_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: PrebookRow | PrebookModel) -> Self:
        return cls(
            id=global_id("Prebook", row.id),
            pk=row.id,
            quantity=row.quantity,
            shipping_address=Address.of(row.shipping_address),
            status=PrebookStatus(row.status),
            price_at_prebook=row.price_at_prebook,
            created_at=row.created_at,
            fulfilled_at=row.fulfilled_at,
            cancelled_at=row.cancelled_at,
            book_id=row.book_id,
            order_id=row.order_id,
        )

    @strawberry.field(description="The book prebooked.")
    async def book(self, info: Info[Context, None]) -> Book:
        row = await info.context.loader(AnyBookLoader).load(self.book_id)
        assert row is not None  # books with prebooks are never deleted (RESTRICT)
        return Book.from_row(row)

    @strawberry.field(description="The order it became, once served.")
    async def order(self, info: Info[Context, None]) -> Order | None:
        if self.order_id is None:
            return None
        row = await info.context.loader(OrderLoader).load(self.order_id)
        return Order.from_row(row) if row is not None else None

    @strawberry.field(
        description="While PENDING, its place in the book's queue (1 = served next); "
        "otherwise null."
    )
    async def queue_position(self, info: Info[Context, None]) -> int | None:
        if self.status is not PrebookStatus.PENDING:
            return None
        return await info.context.loader(QueuePositionLoader).load(self.pk)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Your prebooks (admins: anyone's); others resolve to null."""
        return await viewers_nodes(info, node_ids, prebooks_service.get_prebooks, cls.from_row)


@strawberry.type(description="What a restock (or a release) did.")
class RestockResult:
    book: Book = strawberry.field(description="The book, with its stock after serving prebooks.")
    fulfilled_prebooks: list[Prebook] = strawberry.field(
        description="Prebooks served, in queue order (each is now a CONFIRMED order)."
    )
