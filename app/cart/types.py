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
from app.cart.schemas import CartLine, CartOwner, CartView
from app.cart.schemas import CartWarning as CartWarningData
from app.core.errors import AppError, ErrorCode
from app.graphql.context import Context
from app.graphql.ids import encode_id
from app.graphql.node import Node, global_id


@strawberry.type(
    description="Something about the cart the customer should know: a line's stock, price or "
    "availability; a line a guest cart merge capped or left out; a guest cart not merged "
    "yet. Warnings never stop the cart from being read; checkout decides."
)
class CartWarning:
    code: ErrorCode = strawberry.field(description="What it is about, as an error code.")
    message: str = strawberry.field(description="Human-readable explanation.")
    book_id: strawberry.ID | None = strawberry.field(
        description="The book concerned (null for a warning about the whole cart)."
    )
    available_quantity: int | None = strawberry.field(
        description="Copies in stock, when the warning is about stock."
    )

    @classmethod
    def from_data(cls, warning: CartWarningData) -> Self:
        return cls(
            code=warning.code,
            message=warning.message,
            book_id=None
            if warning.book_id is None
            else strawberry.ID(encode_id("Book", warning.book_id)),
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
        """Lines of the request's own cart only (the signed-in user's, or the guest cart of
        its X-Cart-Token)."""
        ids = [int(node_id) for node_id in node_ids]
        owner = await _owner_or_none(info.context)
        if owner is None:
            return [None] * len(ids)
        async with info.context.session() as session:
            found = await cart_service.get_lines(
                session, owner=owner, item_ids=ids, stock=info.context.stock
            )
        return [cls.from_line(found[i]) if i in found else None for i in ids]


@strawberry.type(
    description="A cart, kept on the server: a signed-in user's (the same on every device), "
    "or a guest cart opened by its token (X-Cart-Token)."
)
class Cart(Node):
    pk: strawberry.Private[int]
    items: list[CartItem] = strawberry.field(description="Lines, in the order they were added.")
    total_quantity: int = strawberry.field(description="Copies across all lines.")
    subtotal: Decimal = strawberry.field(description="Sum of the lines at current prices.")
    warnings: list[CartWarning] = strawberry.field(
        description="Problems to fix before checkout (stock, price changes, withdrawn books), "
        "and what a merge of a guest cart did."
    )
    updated_at: datetime | None = strawberry.field(
        description="When the cart last changed (null for a cart never changed)."
    )

    @classmethod
    def from_view(cls, cart: CartView) -> Self:
        return cls(
            id=global_id("Cart", cart.cart_id),
            pk=cart.cart_id,
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
        """The request's own cart only (the signed-in user's, or the guest cart of its
        X-Cart-Token): any other cart's id resolves to null."""
        ids = [int(node_id) for node_id in node_ids]
        context = info.context
        owner = await _owner_or_none(context)
        if owner is None:
            return [None] * len(ids)
        async with context.session() as session:
            cart_id = await cart_service.cart_id_of(session, owner=owner)
            if cart_id not in ids:
                return [None] * len(ids)
            view = await cart_service.get_cart(
                session, context.settings, owner=owner, stock=context.stock
            )
        cart = cls.from_view(view)
        return [cart if i == cart_id else None for i in ids]


@strawberry.type(description="A new guest cart, and the token that opens it.")
class GuestCartPayload:
    cart_token: str = strawberry.field(
        description="Send it as the `X-Cart-Token` header to use the cart, and as `cartToken` "
        "to merge it when signing in. Whoever holds it can change the cart: keep it like a "
        "session cookie. Shown once (only its hash is stored); the cart expires after "
        "GUEST_CART_TTL_DAYS (30) without use."
    )
    cart: Cart = strawberry.field(description="The new cart, empty.")


async def _owner_or_none(context: Context) -> CartOwner | None:
    """The request's cart owner, or None where `node` answers null for anything refused
    (no identity, a bad access token, an unknown guest token)."""
    try:
        return await context.cart_owner()
    except AppError:
        return None
