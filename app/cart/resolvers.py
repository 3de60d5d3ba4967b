"""Cart query and mutations (all for the signed-in user)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.cart import service as cart_service
from app.cart.types import Cart
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.permissions import IsAuthenticated


async def read_cart(context: Context, user_id: int) -> Cart:
    async with context.session() as session:
        return Cart.from_view(
            await cart_service.get_cart(session, user_id=user_id, stock=context.stock)
        )


async def change_cart(
    context: Context, change: Callable[[AsyncSession, int], Awaitable[None]]
) -> Cart:
    """Apply `change(session, user_id)` to the viewer's cart in one unit of work, and answer
    with the cart as it is then."""
    async with context.transaction() as session:
        await change(session, context.viewer.id)
    return await read_cart(context, context.viewer.id)


@strawberry.type
class CartQuery:
    @strawberry.field(
        description="Your cart; null for an anonymous request (a bad or expired token is "
        "still an error)."
    )
    async def cart(self, info: Info[Context, None]) -> Cart | None:
        viewer = await info.context.viewer_or_none()
        return None if viewer is None else await read_cart(info.context, viewer.id)


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Put copies of a book in the cart (adds to a line already there).",
        permission_classes=[IsAuthenticated],
    )
    async def add_to_cart(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int = 1
    ) -> Cart | None:
        book, stock = decode_id(book_id, "Book", field="bookId"), info.context.stock
        return await change_cart(
            info.context,
            lambda session, user_id: cart_service.add(
                session, user_id=user_id, book_id=book, quantity=quantity, stock=stock
            ),
        )

    @strawberry.mutation(
        description="Set how many copies of a book the cart holds (0 removes it).",
        permission_classes=[IsAuthenticated],
    )
    async def update_cart_item(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int
    ) -> Cart | None:
        book, stock = decode_id(book_id, "Book", field="bookId"), info.context.stock
        return await change_cart(
            info.context,
            lambda session, user_id: cart_service.update(
                session, user_id=user_id, book_id=book, quantity=quantity, stock=stock
            ),
        )

    @strawberry.mutation(
        description="Take a book out of the cart (harmless if it isn't there).",
        permission_classes=[IsAuthenticated],
    )
    async def remove_from_cart(
        self, info: Info[Context, None], book_id: strawberry.ID
    ) -> Cart | None:
        book = decode_id(book_id, "Book", field="bookId")
        return await change_cart(
            info.context,
            lambda session, user_id: cart_service.remove(session, user_id=user_id, book_id=book),
        )

    @strawberry.mutation(description="Empty the cart.", permission_classes=[IsAuthenticated])
    async def clear_cart(self, info: Info[Context, None]) -> Cart | None:
        return await change_cart(
            info.context, lambda session, user_id: cart_service.clear(session, user_id=user_id)
        )
