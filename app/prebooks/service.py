"""Prebooks: reserving copies of unreleased or sold-out books, and serving the queue
first-come-first-served on restock or release, with a price guarantee."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses import service as addresses_service
from app.books import service as books_service
from app.books.repository import Stock
from app.core.config import Settings
from app.core.errors import (
    AppError,
    ConflictError,
    ErrorCode,
    GlobalRef,
    NotFoundError,
    ValidationFailed,
)
from app.db.pagination import KeysetList
from app.inventory import service as inventory
from app.prebooks.models import MAX_PREBOOK_QUANTITY, Prebook, PrebookStatus
from app.prebooks.repository import PrebookRepository
from app.prebooks.schemas import PrebookData, PrebookRow
from app.users import service as users_service
from app.users.schemas import Viewer

MAX_RESTOCK = 100_000


def prebook_not_found() -> NotFoundError:
    return NotFoundError("Prebook not found", code=ErrorCode.PREBOOK_NOT_FOUND, field="id")


async def create(
    session: AsyncSession, settings: Settings, *, viewer: Viewer, data: PrebookData, stock: Stock
) -> Prebook:
    users_service.ensure_may_order(settings, viewer)
    if not 1 <= data.quantity <= MAX_PREBOOK_QUANTITY:
        raise ValidationFailed(
            f"A prebook is for 1 to {MAX_PREBOOK_QUANTITY} copies",
            code=ErrorCode.PREBOOK_QUANTITY_INVALID,
            field="input.quantity",
        )
    # The book is locked first, as restocks and cancellations do (no deadlocks): the
    # decision below and the demand update see the same stock.
    book = (await inventory.lock(session, [data.book_id])).get(data.book_id)
    if book is None or book.is_archived:
        raise books_service.book_not_found(field="input.bookId")
    released = book.release_date <= stock.today
    if released and books_service.sellable(book) >= data.quantity:
        raise AppError(
            "This book can be bought now: add it to the cart instead",
            code=ErrorCode.PREBOOK_NOT_ALLOWED,
            field="input.bookId",
        )
    address = await addresses_service.ship_to(session, user_id=viewer.id, given=data)
    prebook = Prebook(
        user_id=viewer.id,
        book_id=book.id,
        quantity=data.quantity,
        status=PrebookStatus.PENDING,
        price_at_prebook=book.price,
        shipping_address=address,
    )
    prebooks = PrebookRepository(session)
    if not await prebooks.add(prebook):
        pending = await prebooks.pending_of(viewer.id, book.id)  # None if cancelled meanwhile
        raise ConflictError(
            "You already have a waiting prebook for this book",
            code=ErrorCode.PREBOOK_ALREADY_EXISTS,
            field="input.bookId",
            extensions={"prebookId": None if pending is None else GlobalRef("Prebook", pending)},
        )
    await inventory.hold(session, book.id, data.quantity)
    return prebook


async def cancel(
    session: AsyncSession, settings: Settings, *, prebook_id: int, viewer: Viewer, stock: Stock
) -> list[Prebook]:
    """Cancel a waiting prebook of yours (admins: anyone's). The prebooks behind it that
    now fit in the held copies are served at once (the prebooks served)."""
    found = (await get_prebooks(session, [prebook_id], viewer)).get(prebook_id)
    if found is None:
        raise prebook_not_found()
    # Book first, then the prebook: the order restocks lock them in.
    await inventory.lock(session, [found.book_id])
    prebook = await PrebookRepository(session).lock(prebook_id)
    assert prebook is not None  # prebooks are never deleted
    if prebook.status is not PrebookStatus.PENDING:
        raise AppError(
            f"A {prebook.status.value.lower()} prebook cannot be cancelled",
            code=ErrorCode.PREBOOK_NOT_CANCELLABLE,
            field="id",
        )
    prebook.status = PrebookStatus.CANCELLED
    prebook.cancelled_at = prebook.updated_at = datetime.now(UTC)
    await session.flush()
    # A cancelled head of the queue no longer holds back those behind it.
    return await inventory.serve_queue(
        session, settings, book_id=prebook.book_id, stock=stock, released=prebook.quantity
    )


async def restock(
    session: AsyncSession, settings: Settings, *, book_id: int, quantity: int, stock: Stock
) -> list[Prebook]:
    if not 1 <= quantity <= MAX_RESTOCK:
        raise ValidationFailed(f"quantity must be between 1 and {MAX_RESTOCK}", field="quantity")
    return await inventory.serve_queue(
        session, settings, book_id=book_id, stock=stock, added=quantity
    )


async def fulfil(
    session: AsyncSession, settings: Settings, *, book_id: int, stock: Stock
) -> list[Prebook]:
    """Serve the queue of a book whose release date has come, from its current stock."""
    book = await books_service.get_book(
        session, book_id, stock, include_archived=False, field="bookId"
    )
    if book.release_date > stock.today:
        raise AppError(
            "The book is not released yet; its prebooks are served on release",
            code=ErrorCode.BOOK_NOT_RELEASED,
            field="bookId",
        )
    return await inventory.serve_queue(session, settings, book_id=book_id, stock=stock)


async def books_ready_to_serve(session: AsyncSession, *, stock: Stock) -> list[int]:
    return await PrebookRepository(session).books_ready_to_serve(stock.today)


def prebooks(
    session: AsyncSession,
    *,
    user_id: int | None,
    book_id: int | None,
    status: PrebookStatus | None,
) -> KeysetList[PrebookRow]:
    """Newest first: one user's prebooks, or (user_id None, admins) anyone's."""
    return PrebookRepository(session).listing(user_id=user_id, book_id=book_id, status=status)


async def get_prebooks(
    session: AsyncSession, ids: Sequence[int], viewer: Viewer
) -> dict[int, PrebookRow]:
    rows = await PrebookRepository(session).get_rows(ids) if ids else {}
    return {i: row for i, row in rows.items() if viewer.is_admin or row.user_id == viewer.id}


async def waiting_books_of(session: AsyncSession, *, user_id: int) -> list[int]:
    """The books the user waits for (one waiting prebook per book at most)."""
    return await PrebookRepository(session).waiting_books_of(user_id)


async def waiting_of(session: AsyncSession, *, viewer: Viewer, book_id: int) -> PrebookRow | None:
    """The viewer's waiting prebook of the book, if any."""
    repository = PrebookRepository(session)
    prebook_id = await repository.pending_of(viewer.id, book_id)
    if prebook_id is None:
        return None
    return (await repository.get_rows([prebook_id])).get(prebook_id)


async def queue_positions(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    return await PrebookRepository(session).queue_positions(ids) if ids else {}
