"""Every SQL statement of the cart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.books.repository import BOOK, Stock, book_columns
from app.cart.models import Cart, CartItem
from app.cart.schemas import CartLine


class CartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, user_id: int) -> None:
        """Create the cart if needed, mark it changed now, and lock it until the transaction
        ends: one user's cart changes and checkouts take turns (no lost updates, no double
        checkout)."""
        await self.session.execute(
            insert(Cart)
            .values(user_id=user_id)
            .on_conflict_do_update(index_elements=[Cart.user_id], set_={"updated_at": func.now()})
        )

    async def updated_at(self, user_id: int) -> datetime | None:
        return await self.session.scalar(select(Cart.updated_at).where(Cart.user_id == user_id))

    async def lines(
        self, user_id: int, stock: Stock, item_ids: Sequence[int] | None = None
    ) -> list[CartLine]:
        """The cart's lines (or those of `item_ids`) with their books (current price, stock,
        availability), in the order they were added."""
        statement = (
            select(
                CartItem.id.label("item_id"),
                CartItem.quantity.label("item_quantity"),
                CartItem.added_at.label("item_added_at"),
                CartItem.price_when_added.label("item_price_when_added"),
                *book_columns(stock),
            )
            .join(Book, Book.id == CartItem.book_id)
            .where(CartItem.user_id == user_id)
            .order_by(CartItem.added_at, CartItem.id)
        )
        if item_ids is not None:
            statement = statement.where(CartItem.id.in_(item_ids))
        return [
            CartLine(
                row.item_id,
                row.item_quantity,
                row.item_added_at,
                row.item_price_when_added,
                BOOK.of(row[4:]),
            )
            for row in await self.session.execute(statement)
        ]

    async def quantity_of(self, user_id: int, book_id: int) -> int | None:
        return await self.session.scalar(
            select(CartItem.quantity).where(
                CartItem.user_id == user_id, CartItem.book_id == book_id
            )
        )

    async def line_count(self, user_id: int) -> int:
        statement = select(func.count()).where(CartItem.user_id == user_id)
        return int(await self.session.scalar(statement) or 0)

    async def set_line(self, user_id: int, book_id: int, quantity: int, price: Decimal) -> None:
        """Set the line's quantity at today's price: changing a line acknowledges a price
        change (the CART_PRICE_CHANGED warning goes away)."""
        statement = insert(CartItem).values(
            user_id=user_id, book_id=book_id, quantity=quantity, price_when_added=price
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[CartItem.user_id, CartItem.book_id],
                set_={
                    "quantity": statement.excluded.quantity,
                    "price_when_added": statement.excluded.price_when_added,
                },
            )
        )

    async def delete_line(self, user_id: int, book_id: int) -> None:
        await self.session.execute(
            delete(CartItem).where(CartItem.user_id == user_id, CartItem.book_id == book_id)
        )

    async def clear(self, user_id: int) -> None:
        await self.session.execute(delete(CartItem).where(CartItem.user_id == user_id))

    async def quantities(self, user_id: int) -> dict[int, int]:
        """{book_id: quantity} of the cart (for checkout)."""
        result = await self.session.execute(
            select(CartItem.book_id, CartItem.quantity).where(CartItem.user_id == user_id)
        )
        return dict(result.all())
