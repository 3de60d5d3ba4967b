"""GraphQL types of the cart."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Self

import strawberry
from strawberry.types import Info

from app.books.types import Book
from app.cart import service as cart_service
from app.cart.schemas import CartLine, CartView
from app.cart.schemas import CartWarning as CartWarningData
from app.core.errors import ErrorCode
from app.graphql.context import Context
from app.graphql.ids import encode_id
from app.graphql.node import Node, global_id, viewers_nodes


@strawberry.type(
    description="Something about a cart line the customer should know (stock, price, "
    "availability). Warnings never stop the cart from being read; checkout decides."
)
class CartWarning:
    code: ErrorCode = strawberry.field(description="What it is about, as an error code.")
    message: str = strawberry.field(description="Human-readable explanation.")
    book_id: strawberry.ID = strawberry.field(description="The book concerned.")
    available_quantity: int | None = strawberry.field(
        description="Copies in stock, when the warning is about stock."
    )

    @classmethod
    def from_data(cls, warning: CartWarningData) -> Self:
        return cls(
            code=warning.code,
            message=warning.message,
            book_id=strawberry.ID(encode_id("Book", warning.book_id)),
            available_quantity=warning.available_quantity,
        )


@strawberry.type(description="A book in the cart.")
class CartItem(Node):
    pk: strawberry.Private[int]
    book: Book = strawberry.field(description="The book, with its current price and stock.")
    quantity: int = strawberry.field(description="Copies (1-99).")
    unit_price: Decimal = strawberry.field(description="The book's current price.")
    line_total: Decimal = strawberry.field(description="unitPrice * quantity.")
    added_at: datetime = strawberry.field(description="When the book was put in the cart.")

    @classmethod
    def from_line(cls, line: CartLine) -> Self:
        return cls(
            id=global_id("CartItem", line.item_id),
            pk=line.item_id,
            book=Book.from_row(line.book),
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=line.line_total,
            added_at=line.added_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Lines of your own cart only."""
        stock = info.context.stock
        return await viewers_nodes(
            info,
            node_ids,
            lambda session, ids, viewer: cart_service.get_lines(
                session, user_id=viewer.id, item_ids=ids, stock=stock
            ),
            cls.from_line,
        )


@strawberry.type(description="Your cart: kept on the server, the same on every device.")
class Cart(Node):
    pk: strawberry.Private[int]
    items: list[CartItem] = strawberry.field(description="Lines, in the order they were added.")
    total_quantity: int = strawberry.field(description="Copies across all lines.")
    subtotal: Decimal = strawberry.field(description="Sum of the lines at current prices.")
    warnings: list[CartWarning] = strawberry.field(
        description="Problems to fix before checkout (stock, price changes, withdrawn books)."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the cart last changed (null for a cart never used)."
    )

    @classmethod
    def from_view(cls, cart: CartView) -> Self:
        return cls(
            id=global_id("Cart", cart.user_id),
            pk=cart.user_id,
            items=[CartItem.from_line(line) for line in cart.lines],
            total_quantity=cart.total_quantity,
            subtotal=cart.subtotal,
            warnings=[CartWarning.from_data(warning) for warning in cart.warnings],
            updated_at=cart.updated_at,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info[Context, None], node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Your own cart only (its id is yours alone)."""
        ids = [int(node_id) for node_id in node_ids]
        viewer = await info.context.optional_viewer()
        if viewer is None or viewer.id not in ids:
            return [None] * len(ids)
        async with info.context.session() as session:
            cart = cls.from_view(
                await cart_service.get_cart(session, user_id=viewer.id, stock=info.context.stock)
            )
        return [cart if i == viewer.id else None for i in ids]
