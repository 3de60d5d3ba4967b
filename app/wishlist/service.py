"""Wishlist rules: idempotent adds, the size limit, moving a book to the cart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.cart import service as cart_service
from app.cart.schemas import CartOwner
from app.core.config import Settings
from app.core.errors import AppError, ErrorCode, NotFoundError
from app.db.pagination import KeysetList
from app.graphql.ids import encode_id
from app.mail import links
from app.mail import service as mail
from app.mail.schemas import SignedPerRow, Template, page
from app.users.schemas import Viewer
from app.wishlist.models import MAX_WISHLIST_ITEMS
from app.wishlist.repository import WishlistRepository
from app.wishlist.schemas import ALERT_OFF, WishlistItemRow


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


# -- back-in-stock alerts -------------------------------------------------------------------


async def set_notification(
    session: AsyncSession, *, user_id: int, book_id: int, enabled: bool, stock: Stock
) -> WishlistItemRow:
    """Turn the book's alert on (adding the book to the wishlist if it isn't there, under
    the same rules as `add`) or off (WISHLIST_ITEM_NOT_FOUND if it isn't there)."""
    if enabled:
        await add(session, user_id=user_id, book_id=book_id, stock=stock)
    if not await WishlistRepository(session).set_notification(user_id, book_id, enabled):
        raise _not_in_wishlist()
    item = await WishlistRepository(session).item(user_id, book_id, stock)
    if item is None:  # the book was archived: its item is kept but not shown
        raise books_service.book_not_found(field="bookId")
    return item


async def book_available(
    session: AsyncSession, *, book_id: int, title: str, released: date | None = None
) -> int:
    """The book can be bought again: queue one email per subscriber (one statement,
    however many; each subscription is marked alerted by the same statement, so two
    triggers at once never email anyone twice). `released`: the book came out that day,
    and only those who subscribed before it, not alerted since, are told. How many."""
    source = WishlistRepository(session).alerts(book_id, released=released)
    return await mail.from_rows(
        session,
        Template.BACK_IN_STOCK,
        source,
        context={"book_title": title},
        links={
            "book": page(links.BOOK.format(id=encode_id("Book", book_id))),
            "unsubscribe": SignedPerRow(links.UNSUBSCRIBE, ALERT_OFF),
        },
    )


async def releases_to_announce(
    session: AsyncSession, *, stock: Stock
) -> list[tuple[int, str, date]]:
    """Books released by today, buyable, whose subscribers haven't heard of the release."""
    return await WishlistRepository(session).releases_to_announce(stock.today)


async def unsubscribe(session: AsyncSession, settings: Settings, *, token: str) -> None:
    """An alert email's unsubscribe link: its signed token says whose alert, for which
    book, so no sign-in is needed (and the link never expires)."""
    claims = links.read_signed(settings, ALERT_OFF, token)
    user_id, book_id = (claims or {}).get("user"), (claims or {}).get("book")
    if not isinstance(user_id, int) or not isinstance(book_id, int):
        raise AppError(
            "This unsubscribe link is invalid", code=ErrorCode.ACCOUNT_TOKEN_INVALID, field="token"
        )
    await WishlistRepository(session).unsubscribe(user_id, book_id)
