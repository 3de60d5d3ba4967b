"""Wishlist query and mutations (all for the signed-in user)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.cart.resolvers import change_cart
from app.cart.types import Cart
from app.core.paging import PageArgs
from app.graphql.connection import Connection, listing_connection, paginated
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_arg
from app.graphql.node import global_id
from app.graphql.permissions import IsAuthenticated
from app.users.resolvers import EmailTokenArg
from app.wishlist import service as wishlist_service
from app.wishlist.types import WishlistItem


@strawberry.type
class WishlistQuery:
    @strawberry.field(
        description="Books you saved for later, newest first (archived books drop out).",
        permission_classes=[IsAuthenticated],
    )
    @paginated
    async def wishlist(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
    ) -> Connection[WishlistItem] | None:
        context = info.context
        return await listing_connection(
            context,
            page,
            listing=lambda session: wishlist_service.items(
                session, user_id=context.viewer.id, stock=context.stock
            ),
            node=WishlistItem.from_row,
        )


@strawberry.type
class WishlistMutation:
    @strawberry.mutation(
        description="Save a book for later. Adding it again returns the existing item.",
        permission_classes=[IsAuthenticated],
    )
    async def add_to_wishlist(
        self, info: Info[Context, None], book_id: strawberry.ID
    ) -> WishlistItem | None:
        context = info.context
        viewer = context.viewer
        book = decode_id(book_id, "Book", field="bookId")
        async with context.transaction() as session:
            row = await wishlist_service.add(
                session, user_id=viewer.id, book_id=book, stock=context.stock
            )
        return WishlistItem.from_row(row)

    @strawberry.mutation(
        description="Take a book out of the wishlist (WISHLIST_ITEM_NOT_FOUND if absent). "
        "Answers the removed WishlistItem's ID, for client caches to evict.",
        permission_classes=[IsAuthenticated],
    )
    async def remove_from_wishlist(
        self, info: Info[Context, None], book_id: strawberry.ID
    ) -> strawberry.ID | None:
        context = info.context
        viewer = context.viewer
        book = decode_id(book_id, "Book", field="bookId")
        async with context.transaction() as session:
            item_id = await wishlist_service.remove(session, user_id=viewer.id, book_id=book)
        return global_id("WishlistItem", item_id)

    @strawberry.mutation(
        description="Put a wishlist book in the cart (same rules as addToCart); it leaves the "
        "wishlist only if the cart accepted it.",
        permission_classes=[IsAuthenticated],
    )
    async def move_wishlist_item_to_cart(
        self, info: Info[Context, None], book_id: strawberry.ID, quantity: int = 1
    ) -> Cart | None:
        book, stock = decode_id(book_id, "Book", field="bookId"), info.context.stock
        user_id = info.context.viewer.id
        return await change_cart(
            info.context,
            lambda session, _: wishlist_service.move_to_cart(
                session, user_id=user_id, book_id=book, quantity=quantity, stock=stock
            ),
        )

    @strawberry.mutation(
        description="Turn a book's back-in-stock alert on or off: with it on, you get an "
        "email each time the book becomes purchasable again (restocked after selling out, "
        "or released). Turning it on adds the book to your wishlist if needed (as "
        "addToWishlist); turning it off a book not there is WISHLIST_ITEM_NOT_FOUND.",
        permission_classes=[IsAuthenticated],
    )
    async def set_wishlist_notification(
        self, info: Info[Context, None], book_id: strawberry.ID, enabled: bool
    ) -> WishlistItem | None:
        context = info.context
        viewer = context.viewer
        book = decode_id(book_id, "Book", field="bookId")
        async with context.transaction() as session:
            row = await wishlist_service.set_notification(
                session, user_id=viewer.id, book_id=book, enabled=enabled, stock=context.stock
            )
        return WishlistItem.from_row(row)

    @strawberry.mutation(
        description="What an alert email's unsubscribe link does: turn that back-in-stock "
        "alert off, without signing in (the link's token is signed). True once it is off "
        "(also if it already was); ACCOUNT_TOKEN_INVALID for a token that isn't such a link's."
    )
    async def unsubscribe(self, info: Info[Context, None], token: str) -> bool | None:
        given = parse_arg(EmailTokenArg, token, field="token")
        context = info.context
        async with context.transaction() as session:
            await wishlist_service.unsubscribe(session, context.settings, token=given)
        return True
