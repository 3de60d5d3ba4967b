"""Review rules: one review per reader and book, released books only, the write rate
limit, helpfulness votes, moderation, and the book's rating summary kept by the same
transaction as every change that moves it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from math import ceil

from sqlalchemy.ext.asyncio import AsyncSession

from app.books import service as books_service
from app.books.repository import Stock
from app.core.config import Settings
from app.core.errors import AppError, ConflictError, ErrorCode, GlobalRef, NotFoundError
from app.db.pagination import KeysetList, Ordering, Page, PageRequest
from app.reviews.models import ReviewStatus
from app.reviews.repository import ReviewRepository, review_ordering
from app.reviews.schemas import (
    ReviewCreateInput,
    ReviewFilterInput,
    ReviewOrderField,
    ReviewRow,
    ReviewUpdateInput,
)
from app.users.schemas import Viewer

DEFAULT_ORDER = ReviewOrderField.NEWEST


def review_not_found(field: str = "id") -> NotFoundError:
    return NotFoundError("Review not found", code=ErrorCode.REVIEW_NOT_FOUND, field=field)


def _counted(status: ReviewStatus, rating: int) -> int | None:
    """What a review counts for in its book's summary: its rating while published."""
    return rating if status is ReviewStatus.PUBLISHED else None


async def _take_write_turn(session: AsyncSession, settings: Settings, user_id: int) -> None:
    """Count this write against the user's limit, or refuse it (REVIEW_RATE_LIMITED)."""
    reviews = ReviewRepository(session)
    await reviews.take_turn_to_write(user_id)
    window = timedelta(minutes=settings.review_write_window_minutes)
    until = await reviews.writes_blocked_until(
        user_id, limit=settings.review_write_limit, window=window
    )
    now = datetime.now(UTC)
    if until is not None and until > now:
        retry_after = max(1, ceil((until - now).total_seconds()))
        raise AppError(
            f"Too many review changes; retry in {retry_after} seconds",
            code=ErrorCode.REVIEW_RATE_LIMITED,
            extensions={"retryAfter": retry_after},
        )
    await reviews.record_write(user_id)


async def write(
    session: AsyncSession,
    settings: Settings,
    *,
    viewer: Viewer,
    data: ReviewCreateInput,
    stock: Stock,
) -> int:
    """The new review's id; it counts in the book's summary from this transaction's commit."""
    book = await books_service.get_book(
        session, data.book_id, stock, include_archived=False, field="input.bookId"
    )
    if book.release_date > stock.today:
        raise AppError(
            "The book is not released yet: it can be reviewed from its release date",
            code=ErrorCode.REVIEW_NOT_ALLOWED,
            field="input.bookId",
        )
    reviews = ReviewRepository(session)
    if (existing := await reviews.id_of(viewer.id, book.id)) is not None:
        raise _already_reviewed(existing)
    await _take_write_turn(session, settings, viewer.id)
    review_id = await reviews.insert(
        {
            "book_id": book.id,
            "user_id": viewer.id,
            "rating": data.rating,
            "title": data.title,
            "body": data.body,
        }
    )
    if review_id is None:  # a concurrent write of the same review won
        raise _already_reviewed(await reviews.id_of(viewer.id, book.id))
    await books_service.adjust_rating(session, book_id=book.id, before=None, after=data.rating)
    return review_id


def _already_reviewed(review_id: int | None) -> ConflictError:
    return ConflictError(
        "You already reviewed this book; change your review with updateReview",
        code=ErrorCode.REVIEW_ALREADY_EXISTS,
        field="input.bookId",
        extensions={"reviewId": None if review_id is None else GlobalRef("Review", review_id)},
    )


async def update(
    session: AsyncSession,
    settings: Settings,
    *,
    viewer: Viewer,
    review_id: int,
    data: ReviewUpdateInput,
) -> None:
    """Change one's own review (a hidden one stays hidden: the moderator's call stands). Not
    once its book is archived: its author sees neither any more (deleting it stays open)."""
    reviews = ReviewRepository(session)
    locked = await reviews.lock(review_id, user_id=viewer.id, live_book=True)
    if locked is None:
        raise review_not_found()
    book_id, _, rating, status = locked
    changes = data.given()
    if not changes:
        return
    await _take_write_turn(session, settings, viewer.id)
    await reviews.update(review_id, changes)
    new_rating = changes.get("rating", rating)
    await books_service.adjust_rating(
        session,
        book_id=book_id,
        before=_counted(status, rating),
        after=_counted(status, new_rating),
    )


async def delete(
    session: AsyncSession, settings: Settings, *, viewer: Viewer, review_id: int
) -> None:
    reviews = ReviewRepository(session)
    locked = await reviews.lock(review_id, user_id=viewer.id)
    if locked is None:
        raise review_not_found()
    book_id, _, rating, status = locked
    await _take_write_turn(session, settings, viewer.id)
    await reviews.delete(review_id)
    await books_service.adjust_rating(
        session, book_id=book_id, before=_counted(status, rating), after=None
    )


async def moderate(session: AsyncSession, *, review_id: int, status: ReviewStatus) -> None:
    """Publish or hide any review (admins); hiding takes it out of every public count."""
    reviews = ReviewRepository(session)
    locked = await reviews.lock(review_id)
    if locked is None:
        raise review_not_found()
    book_id, _, rating, current = locked
    if current is status:
        return
    await reviews.set_status(review_id, status)
    await books_service.adjust_rating(
        session, book_id=book_id, before=_counted(current, rating), after=_counted(status, rating)
    )


async def mark_helpful(
    session: AsyncSession, *, viewer: Viewer, review_id: int, helpful: bool
) -> None:
    """Count (or take back) the viewer's vote: once per reader, never on one's own review."""
    reviews = ReviewRepository(session)
    locked = await reviews.lock_public(review_id)
    if locked is None:
        raise review_not_found()
    _, author_id = locked
    if author_id == viewer.id:
        raise AppError(
            "You cannot vote on your own review", code=ErrorCode.REVIEW_NOT_ALLOWED, field="id"
        )
    if helpful:
        if await reviews.add_vote(review_id, viewer.id):
            await reviews.add_helpful(review_id, 1)
    elif await reviews.remove_vote(review_id, viewer.id):
        await reviews.add_helpful(review_id, -1)


# -- reading ---------------------------------------------------------------------------------


def ordering(field: ReviewOrderField | None, *, reverse: bool) -> Ordering:
    return review_ordering(field or DEFAULT_ORDER, reverse=reverse)


async def pages_by_book(
    session: AsyncSession, book_ids: Sequence[int], ordering: Ordering, page: PageRequest
) -> dict[int, Page[ReviewRow]]:
    return await ReviewRepository(session).pages_by_book(book_ids, ordering, page)


async def get_reviews(
    session: AsyncSession, ids: Sequence[int], viewer: Viewer | None
) -> dict[int, ReviewRow]:
    """Reviews as `viewer` may see them: published ones of live books, one's own, and
    everything for admins."""
    if not ids:
        return {}
    return await ReviewRepository(session).rows_by_id(
        ids,
        viewer_id=None if viewer is None else viewer.id,
        everything=viewer is not None and viewer.is_admin,
    )


async def get_review(session: AsyncSession, review_id: int, viewer: Viewer) -> ReviewRow:
    rows = await get_reviews(session, [review_id], viewer)
    if review_id not in rows:
        raise review_not_found()
    return rows[review_id]


async def reviews_by(
    session: AsyncSession, *, user_id: int, book_ids: Sequence[int]
) -> dict[int, ReviewRow]:
    return await ReviewRepository(session).by_reviewer(user_id, book_ids) if book_ids else {}


def all_reviews(session: AsyncSession, filters: ReviewFilterInput | None) -> KeysetList[ReviewRow]:
    filters = filters or ReviewFilterInput()
    return ReviewRepository(session).listing(status=filters.status, book_id=filters.book_id)


async def purge_writes(session: AsyncSession, settings: Settings) -> int:
    """Forget the writes older than the rate limit's window (they count for nothing)."""
    window = timedelta(minutes=settings.review_write_window_minutes)
    return await ReviewRepository(session).purge_writes(older_than=window)
