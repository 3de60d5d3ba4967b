"""Every SQL statement of the prebooks domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.books.models import Book
from app.db.pagination import KeysetList, column_ordering
from app.db.rows import Shape
from app.prebooks.models import QUEUE_ORDER, Prebook, PrebookStatus
from app.prebooks.schemas import PrebookRow

NEWEST_FIRST = column_ordering("CREATED_AT:DESC", Prebook.created_at, Prebook.id, descending=True)
PREBOOK = Shape(PrebookRow, Prebook)


class PrebookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, prebook: Prebook) -> bool:
        """False when the user already has a waiting prebook for the book (the partial
        unique index decides, also between concurrent requests)."""
        # The queue's order is the time of insertion, made with the book locked, so it
        # follows the order prebooks were accepted in (now() is the transaction's start,
        # which can be earlier for a request that got the lock later).
        prebook.created_at = func.clock_timestamp()
        try:
            async with self.session.begin_nested():
                self.session.add(prebook)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def pending_of(self, user_id: int, book_id: int) -> int | None:
        return await self.session.scalar(
            select(Prebook.id).where(
                Prebook.user_id == user_id,
                Prebook.book_id == book_id,
                Prebook.status == PrebookStatus.PENDING,
            )
        )

    async def waiting_books_of(self, user_id: int) -> list[int]:
        result = await self.session.scalars(
            select(Prebook.book_id).where(
                Prebook.user_id == user_id, Prebook.status == PrebookStatus.PENDING
            )
        )
        return list(result)

    async def lock(self, prebook_id: int) -> Prebook | None:
        result = await self.session.scalars(
            select(Prebook).where(Prebook.id == prebook_id).with_for_update()
        )
        return result.one_or_none()

    async def get_rows(self, prebook_ids: Sequence[int]) -> dict[int, PrebookRow]:
        statement = select(*PREBOOK.columns()).where(Prebook.id.in_(prebook_ids))
        return {row.id: row for row in PREBOOK.all(await self.session.execute(statement))}

    async def queue_positions(self, prebook_ids: Sequence[int]) -> dict[int, int]:
        """1-based place in its book's queue of each given prebook that is waiting."""
        books = select(Prebook.book_id).where(
            Prebook.id.in_(prebook_ids), Prebook.status == PrebookStatus.PENDING
        )
        ranked = (
            select(
                Prebook.id,
                func.row_number()
                .over(partition_by=Prebook.book_id, order_by=QUEUE_ORDER)
                .label("position"),
            )
            .where(Prebook.status == PrebookStatus.PENDING, Prebook.book_id.in_(books))
            .subquery()
        )
        result = await self.session.execute(
            select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(prebook_ids))
        )
        return {prebook_id: int(position) for prebook_id, position in result}

    def listing(
        self, *, user_id: int | None, book_id: int | None, status: PrebookStatus | None
    ) -> KeysetList[PrebookRow]:
        statement = select(*PREBOOK.columns())
        if user_id is not None:
            statement = statement.where(Prebook.user_id == user_id)
        if book_id is not None:
            statement = statement.where(Prebook.book_id == book_id)
        if status is not None:
            statement = statement.where(Prebook.status == status)
        return KeysetList(self.session, statement, NEWEST_FIRST, PREBOOK.of)

    async def books_ready_to_serve(self, today: date) -> list[int]:
        """Released, live books with someone waiting and copies in stock (for the cron)."""
        result = await self.session.scalars(
            select(Book.id)
            .where(
                Book.release_date <= today,
                ~Book.is_archived,
                Book.stock_quantity > 0,
                Book.id.in_(select(Prebook.book_id).where(Prebook.status == PrebookStatus.PENDING)),
            )
            .order_by(Book.id)
        )
        return list(result)
