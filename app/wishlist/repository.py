"""Every SQL statement of the wishlist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import DateTime, case, cast, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.books.repository import BOOK, Stock, book_columns
from app.db.pagination import KeysetList, column_ordering
from app.mail.repository import Rows
from app.users.models import User
from app.wishlist.models import WishlistItem
from app.wishlist.schemas import WishlistItemRow

NEWEST_FIRST = column_ordering(
    "ADDED_AT:DESC", WishlistItem.added_at, WishlistItem.id, descending=True
)


def _item(row: Any) -> WishlistItemRow:
    return WishlistItemRow(
        row.item_id, row.item_added_at, row.item_notify, row.item_notified_at, BOOK.of(row[4:])
    )


class WishlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_owner(self, user_id: int) -> None:
        """One user's wishlist changes take turns, so the size limit holds under races."""
        await self.session.execute(
            select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        )

    async def add(self, user_id: int, book_id: int) -> bool:
        """True when added, False when it was already there."""
        result = await self.session.execute(
            insert(WishlistItem)
            .values(user_id=user_id, book_id=book_id)
            .on_conflict_do_nothing(index_elements=[WishlistItem.user_id, WishlistItem.book_id])
            .returning(WishlistItem.id)
        )
        return result.scalar_one_or_none() is not None

    async def remove(self, user_id: int, book_id: int) -> int | None:
        """The removed item's id (None when the book wasn't in the wishlist)."""
        result = await self.session.execute(
            delete(WishlistItem)
            .where(WishlistItem.user_id == user_id, WishlistItem.book_id == book_id)
            .returning(WishlistItem.id)
        )
        return result.scalar_one_or_none()

    def _items(self, stock: Stock) -> Any:
        return (
            select(
                WishlistItem.id.label("item_id"),
                WishlistItem.added_at.label("item_added_at"),
                WishlistItem.notify_when_available.label("item_notify"),
                WishlistItem.notified_at.label("item_notified_at"),
                *book_columns(stock),
            )
            .join(Book, Book.id == WishlistItem.book_id)
            .where(~Book.is_archived)  # withdrawn books drop out of the list
        )

    async def item(self, user_id: int, book_id: int, stock: Stock) -> WishlistItemRow | None:
        statement = self._items(stock).where(
            WishlistItem.user_id == user_id, WishlistItem.book_id == book_id
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else _item(row)

    async def items_by_id(
        self, user_id: int, item_ids: Sequence[int], stock: Stock
    ) -> dict[int, WishlistItemRow]:
        statement = self._items(stock).where(
            WishlistItem.user_id == user_id, WishlistItem.id.in_(item_ids)
        )
        return {row.item_id: _item(row) for row in await self.session.execute(statement)}

    def listing(self, user_id: int, stock: Stock) -> KeysetList[WishlistItemRow]:
        statement = self._items(stock).where(WishlistItem.user_id == user_id)
        return KeysetList(self.session, statement, NEWEST_FIRST, _item)

    async def count(self, user_id: int) -> int:
        """Every item, those of archived books included."""
        statement = select(func.count()).where(WishlistItem.user_id == user_id)
        return int(await self.session.scalar(statement) or 0)

    async def which_listed(self, user_id: int, book_ids: Sequence[int]) -> set[int]:
        result = await self.session.scalars(
            select(WishlistItem.book_id).where(
                WishlistItem.user_id == user_id, WishlistItem.book_id.in_(book_ids)
            )
        )
        return set(result)

    # -- back-in-stock alerts -------------------------------------------------------------

    async def set_notification(self, user_id: int, book_id: int, enabled: bool) -> bool:
        """Turn the item's alert on (from now, unless it was on) or off; False when the
        book is not in the wishlist."""
        since = (
            case((WishlistItem.notify_when_available, WishlistItem.notify_since), else_=func.now())
            if enabled
            else None
        )
        result = await self.session.execute(
            update(WishlistItem)
            .where(WishlistItem.user_id == user_id, WishlistItem.book_id == book_id)
            .values(notify_when_available=enabled, notify_since=since)
            .returning(WishlistItem.id)
        )
        return result.scalar_one_or_none() is not None

    def alerts(self, book_id: int, *, released: date | None = None) -> Rows:
        """The subscribers to alert for the book, as recipients (`to`, `name`, per-row
        `links` claims), marking them alerted in the same statement (a CTE): two alerts at
        once for the same book queue one email per subscriber, since each row is updated
        once. `released`: only those who subscribed before that release date and were not
        alerted since (the release is announced once)."""
        due: tuple[Any, ...] = (WishlistItem.book_id == book_id, WishlistItem.notify_when_available)
        if released is not None:
            start = datetime.combine(released, time(), UTC)
            due += (
                WishlistItem.notify_since < start,
                or_(WishlistItem.notified_at.is_(None), WishlistItem.notified_at < start),
            )
        alerted = (
            update(WishlistItem)
            .where(*due)
            .values(notified_at=func.now())
            .returning(WishlistItem.user_id, WishlistItem.book_id)
            .cte("alerted")
        )
        claims = func.jsonb_build_object("user", alerted.c.user_id, "book", alerted.c.book_id)
        return (
            select(User.email.label("to"), User.full_name.label("name"), claims.label("claims"))
            .join(alerted, alerted.c.user_id == User.id)
            .where(User.is_active)
        )

    async def releases_to_announce(self, today: date) -> list[tuple[int, str, date]]:
        """Released books that can be bought and have subscribers from before their release
        date not alerted since: (book id, title, release date)."""
        start = func.timezone("UTC", cast(Book.release_date, DateTime))  # its midnight, UTC
        statement = (
            select(Book.id, Book.title, Book.release_date)
            .join(WishlistItem, WishlistItem.book_id == Book.id)
            .where(
                WishlistItem.notify_when_available,
                WishlistItem.notify_since < start,
                or_(WishlistItem.notified_at.is_(None), WishlistItem.notified_at < start),
                Book.release_date <= today,
                ~Book.is_archived,
                Book.prebook_demand == 0,
                Book.stock_quantity > 0,
            )
            .group_by(Book.id)
            .order_by(Book.id)
        )
        return [
            (row.id, row.title, row.release_date) for row in await self.session.execute(statement)
        ]

    async def unsubscribe(self, user_id: int, book_id: int) -> None:
        await self.session.execute(
            update(WishlistItem)
            .where(WishlistItem.user_id == user_id, WishlistItem.book_id == book_id)
            .values(notify_when_available=False, notify_since=None)
        )
