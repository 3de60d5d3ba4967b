"""Wishlist rules: idempotent adds, the size limit, moving a book to the cart."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.cart import service as cart_service
from app.cart.schemas import CartOwner
from app.core.errors import AppError, ErrorCode, NotFoundError
from app.db.pagination import KeysetList
from app.users.schemas import Viewer
from app.wishlist.models import MAX_WISHLIST_ITEMS
from app.wishlist.repository import WishlistRepository
from app.wishlist.schemas import WishlistItemRow


def _not_in_wishlist() -> NotFoundError:
    return NotFoundError(
        "This book is not in your wishlist", code=ErrorCode.WISHLIST_ITEM_NOT_FOUND, field="bookId"
    )


async def add(
    session: AsyncSession, *, user_id: int, book_id: int, stock: Stock
) -> WishlistItemRow:
    """Add the book (unless it is there already) and return the item."""
    wishlist = WishlistRepository(session)
    existing = await wishlist.item(user_id, book_id, stock)
    if existing is not None:
        return existing
    # Any live book, released or not: wishing for an upcoming book is the point.
    await books_service.get_book(session, book_id, stock, include_archived=False, field="bookId")
    await wishlist.lock_owner(user_id)
    # Again under the lock: a concurrent add of this book may have made the item meanwhile,
    # and adding it again must not be refused by the limit.
    existing = await wishlist.item(user_id, book_id, stock)
    if existing is not None:
        return existing
    # The limit bounds what is stored, items of archived books included (they come back to
    # the listing if the book is unarchived).
    if await wishlist.count(user_id) >= MAX_WISHLIST_ITEMS:
        raise AppError(
            f"A wishlist holds at most {MAX_WISHLIST_ITEMS} books",
            code=ErrorCode.WISHLIST_LIMIT_EXCEEDED,
            field="bookId",
        )
    await wishlist.add(user_id, book_id)  # a concurrent add of the same book is a no-op
    item = await wishlist.item(user_id, book_id, stock)
    assert item is not None
    return item


async def remove(session: AsyncSession, *, user_id: int, book_id: int) -> int:
    """Take the book out; the id of the item that held it."""
    item_id = await WishlistRepository(session).remove(user_id, book_id)
    if item_id is None:
        raise _not_in_wishlist()
    return item_id


async def move_to_cart(
    session: AsyncSession, *, user_id: int, book_id: int, quantity: int, stock: Stock
) -> None:
    """Same rules as adding to the cart; the book leaves the wishlist only if the cart took
    it (the caller's transaction rolls both back otherwise)."""
    wishlist = WishlistRepository(session)
    if await wishlist.item(user_id, book_id, stock) is None:
        raise _not_in_wishlist()
    await cart_service.add(
        session, owner=CartOwner.of_user(user_id), book_id=book_id, quantity=quantity, stock=stock
    )
    await wishlist.remove(user_id, book_id)


def items(session: AsyncSession, *, user_id: int, stock: Stock) -> KeysetList[WishlistItemRow]:
    """Newest first, without the items of archived books."""
    return WishlistRepository(session).listing(user_id, stock)


async def get_items(
    session: AsyncSession, ids: Sequence[int], viewer: Viewer, *, stock: Stock
) -> dict[int, WishlistItemRow]:
    """The viewer's own items among `ids`."""
    return await WishlistRepository(session).items_by_id(viewer.id, ids, stock) if ids else {}


async def listed_books(session: AsyncSession, *, user_id: int, book_ids: Sequence[int]) -> set[int]:
    return await WishlistRepository(session).which_listed(user_id, book_ids) if book_ids else set()
