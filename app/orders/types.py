"""GraphQL types of orders."""

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
from app.graphql.node import Node, global_id, viewers_nodes
from app.graphql.permissions import IsAdmin
from app.orders import service as orders_service
from app.orders.loaders import OrderItemsLoader
from app.orders.models import OrderStatus
from app.orders.schemas import OrderItemRow, OrderRow
from app.users.loaders import UserLoader
from app.users.types import User


@strawberry.type(description="One line of an order, as it was bought.")
class OrderItem:
    title: str = strawberry.field(description="Title when ordered.")
    unit_price: Decimal = strawberry.field(description="Price per copy when ordered.")
    quantity: int = strawberry.field(description="Copies.")
    line_total: Decimal = strawberry.field(description="unitPrice * quantity.")
    book_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: OrderItemRow) -> Self:
        return cls(
            title=row.title,
            unit_price=row.unit_price,
            quantity=row.quantity,
            line_total=row.line_total,
            book_id=row.book_id,
        )

    @strawberry.field(description="The book as it is now (it may have been archived since).")
    async def book(self, info: Info[Context, None]) -> Book:
        row = await info.context.loader(AnyBookLoader).load(self.book_id)
        assert row is not None  # order lines reference books, which are never deleted
        return Book.from_row(row)


@strawberry.type(description="An order. Visible to the customer who placed it and to admins.")
class Order(Node):
    pk: strawberry.Private[int]
    status: OrderStatus = strawberry.field(description="Where the order is in its life.")
    subtotal: Decimal = strawberry.field(description="Sum of the lines.")
    total: Decimal = strawberry.field(
        description="Amount due (equals the subtotal: no shipping fees or taxes yet)."
    )
    currency: str = strawberry.field(description="ISO 4217 currency code of the amounts.")
    shipping_address: Address = strawberry.field(description="Where it ships.")
    created_at: datetime = strawberry.field(description="When it was placed.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    confirmed_at: datetime | None = strawberry.field(description="When it was confirmed.")
    shipped_at: datetime | None = strawberry.field(description="When it shipped.")
    delivered_at: datetime | None = strawberry.field(description="When it was delivered.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled.")
    user_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: OrderRow) -> Self:
        return cls(
            id=global_id("Order", row.id),
            pk=row.id,
            status=OrderStatus(row.status),
            subtotal=row.subtotal,
            total=row.total,
            currency=row.currency,
            shipping_address=Address.of(row.shipping_address),
            created_at=row.created_at,
            updated_at=row.updated_at,
            confirmed_at=row.confirmed_at,
            shipped_at=row.shipped_at,
            delivered_at=row.delivered_at,
            cancelled_at=row.cancelled_at,
            user_id=row.user_id,
        )

    @strawberry.field(description="The lines, one per book (ordered by book id).")
    async def items(self, info: Info[Context, None]) -> list[OrderItem]:
        rows = await info.context.loader(OrderItemsLoader).load(self.pk)
        return [OrderItem.from_row(row) for row in rows]

    @strawberry.field(description="Who placed it (admins only).", permission_classes=[IsAdmin])
    async def user(self, info: Info[Context, None]) -> User | None:
        user = await info.context.loader(UserLoader).load(self.user_id)
        assert user is not None  # users with orders are never deleted (RESTRICT)
        return User.from_model(user)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Your orders (any order for admins); others resolve to null."""
        return await viewers_nodes(info, node_ids, orders_service.get_orders, cls.from_row)
