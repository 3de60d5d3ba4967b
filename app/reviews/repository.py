"""Every SQL statement of the reviews (the rating summary on the book's row is changed
through the catalog's service)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Select, cast, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.books.models import Book
from app.db.pagination import (
    KeysetList,
    Ordering,
    Page,
    PageRequest,
    SortKey,
    apply_keyset_per_group,
    column_ordering,
    to_pages,
)
from app.db.rows import Shape
from app.orders.models import Order, OrderItem, OrderStatus
from app.reviews.models import Review, ReviewHelpfulVote, ReviewStatus, ReviewWrite
from app.reviews.schemas import ReviewOrderField, ReviewRow
from app.users.models import User

# The orders that make a review a verified purchase's.
BOUGHT = (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


def verified_purchase() -> ColumnElement[bool]:
    """Whether the reviewer has an order of the book that went through (computed at read:
    a cancelled order stops counting at once, a later one counts for an earlier review)."""
    return exists().where(
        Order.user_id == Review.user_id,
        Order.status.in_(BOUGHT),
        OrderItem.order_id == Order.id,
        OrderItem.book_id == Review.book_id,
    )


REVIEW = Shape(
    ReviewRow, Review, reviewer_full_name=User.full_name, verified_purchase=verified_purchase()
)
_ID = SortKey(Review.id, "sort_id", int)
NEWEST_FIRST = column_ordering("NEWEST:DESC", Review.created_at, Review.id, descending=True)


def review_ordering(field: ReviewOrderField, *, reverse: bool) -> Ordering:
    """The order a field names (`reverse`: the other way round)."""
    name = f"{field.value}:{'ASC' if reverse else 'DESC'}"
    if field is ReviewOrderField.NEWEST:
        keys: tuple[SortKey, ...] = (SortKey(Review.created_at, "sort_created_at", datetime), _ID)
    elif field is ReviewOrderField.MOST_HELPFUL:
        verified = SortKey(cast(verified_purchase(), Integer), "sort_verified", int)
        keys = (verified, SortKey(Review.helpful_count, "sort_helpful", int), _ID)
    else:
        keys = (SortKey(Review.rating, "sort_rating", int), _ID)
    descending = field is not ReviewOrderField.LOWEST
    return Ordering(name, keys, descending != reverse)


class ReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- reading ------------------------------------------------------------------------------

    def _rows(self) -> Select[Any]:
        return select(*REVIEW.columns()).join(User, User.id == Review.user_id)

    async def rows_by_id(
        self, ids: Sequence[int], *, viewer_id: int | None, everything: bool
    ) -> dict[int, ReviewRow]:
        """Reviews by id as a viewer may see them: published reviews of live books, and the
        viewer's own (`everything`: all of them, for admins)."""
        statement = self._rows().where(Review.id.in_(ids))
        if not everything:
            mine = Review.user_id == viewer_id if viewer_id is not None else False
            statement = statement.join(Book, Book.id == Review.book_id).where(
                ~Book.is_archived, (Review.status == ReviewStatus.PUBLISHED) | mine
            )
        return {row.id: row for row in REVIEW.all(await self.session.execute(statement))}

    async def pages_by_book(
        self, book_ids: Sequence[int], ordering: Ordering, page: PageRequest
    ) -> dict[int, Page[ReviewRow]]:
        """A page of each book's published reviews, in one statement."""
        statement = (
            self._rows()
            .add_columns(*ordering.columns(), Review.book_id.label("group_key"))
            .where(Review.book_id.in_(book_ids), Review.status == ReviewStatus.PUBLISHED)
        )
        query = apply_keyset_per_group(statement, Review.__table__.c.book_id, ordering, page)
        rows = (await self.session.execute(query)).all()
        return to_pages(rows, book_ids, ordering, page, REVIEW.of)

    async def by_reviewer(self, user_id: int, book_ids: Sequence[int]) -> dict[int, ReviewRow]:
        """The user's reviews of these books (hidden ones too), by book."""
        statement = self._rows().where(Review.user_id == user_id, Review.book_id.in_(book_ids))
        return {row.book_id: row for row in REVIEW.all(await self.session.execute(statement))}

    def listing(self, *, status: ReviewStatus | None, book_id: int | None) -> KeysetList[ReviewRow]:
        """Every review (moderation), newest first."""
        statement = self._rows()
        if status is not None:
            statement = statement.where(Review.status == status)
        if book_id is not None:
            statement = statement.where(Review.book_id == book_id)
        return KeysetList(self.session, statement, NEWEST_FIRST, REVIEW.of)

    async def id_of(self, user_id: int, book_id: int) -> int | None:
        statement = select(Review.id).where(Review.user_id == user_id, Review.book_id == book_id)
        return await self.session.scalar(statement)

    # -- writing ------------------------------------------------------------------------------

    async def insert(self, values: dict[str, Any]) -> int | None:
        """The new review's id; None when the user already reviewed the book (also when a
        concurrent write got there first: the unique constraint decides)."""
        statement = (
            insert(Review)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Review.user_id, Review.book_id])
            .returning(Review.id)
        )
        return await self.session.scalar(statement)

    async def lock(
        self, review_id: int, *, user_id: int | None = None, live_book: bool = False
    ) -> tuple[int, int, int, ReviewStatus] | None:
        """(book id, author id, rating, status) of the review, locked until the commit
        (`user_id`: only if it is that user's; `live_book`: only if its book is not
        archived)."""
        statement = select(Review.book_id, Review.user_id, Review.rating, Review.status).where(
            Review.id == review_id
        )
        if user_id is not None:
            statement = statement.where(Review.user_id == user_id)
        if live_book:
            statement = statement.join(Book, Book.id == Review.book_id).where(~Book.is_archived)
        row = (await self.session.execute(statement.with_for_update(of=Review))).one_or_none()
        return None if row is None else (row[0], row[1], row[2], row[3])

    async def lock_public(self, review_id: int) -> tuple[int, int] | None:
        """(book id, author id) of a published review of a live book, locked against
        deletion and other votes until the commit."""
        statement = (
            select(Review.book_id, Review.user_id)
            .join(Book, Book.id == Review.book_id)
            .where(
                Review.id == review_id,
                Review.status == ReviewStatus.PUBLISHED,
                ~Book.is_archived,
            )
            .with_for_update(of=Review, key_share=True)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row[0], row[1])

    async def update(self, review_id: int, values: dict[str, Any]) -> None:
        await self.session.execute(update(Review).where(Review.id == review_id).values(**values))

    async def set_status(self, review_id: int, status: ReviewStatus) -> None:
        await self.session.execute(
            update(Review)
            .where(Review.id == review_id)
            # A moderator's call is not its author's edit: the review's updated_at stays.
            .values(status=status, updated_at=Review.updated_at)
        )

    async def delete(self, review_id: int) -> None:
        await self.session.execute(delete(Review).where(Review.id == review_id))

    # -- helpfulness --------------------------------------------------------------------------

    async def add_vote(self, review_id: int, user_id: int) -> bool:
        """True when the vote is new (counted once per reader, also under races)."""
        statement = (
            insert(ReviewHelpfulVote)
            .values(review_id=review_id, user_id=user_id)
            .on_conflict_do_nothing()
            .returning(ReviewHelpfulVote.review_id)
        )
        return await self.session.scalar(statement) is not None

    async def remove_vote(self, review_id: int, user_id: int) -> bool:
        statement = (
            delete(ReviewHelpfulVote)
            .where(ReviewHelpfulVote.review_id == review_id, ReviewHelpfulVote.user_id == user_id)
            .returning(ReviewHelpfulVote.review_id)
        )
        return await self.session.scalar(statement) is not None

    async def add_helpful(self, review_id: int, delta: int) -> None:
        await self.session.execute(
            update(Review)
            .where(Review.id == review_id)
            # Votes are not edits: the review's updated_at stays.
            .values(helpful_count=Review.helpful_count + delta, updated_at=Review.updated_at)
        )

    # -- the rate limit -----------------------------------------------------------------------

    async def take_turn_to_write(self, user_id: int) -> None:
        """One user's review writes take turns (a lock on the user's row until the commit),
        so concurrent writes can't all see room under the limit."""
        await self.session.execute(
            select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        )

    async def writes_blocked_until(
        self, user_id: int, *, limit: int, window: timedelta
    ) -> datetime | None:
        """When the `limit`-th most recent write of the user within `window` leaves it (the
        moment another is allowed), or None when there were fewer."""
        statement = (
            select(ReviewWrite.created_at)
            .where(ReviewWrite.user_id == user_id, ReviewWrite.created_at > func.now() - window)
            .order_by(ReviewWrite.created_at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        nth_latest = await self.session.scalar(statement)
        return None if nth_latest is None else nth_latest + window

    async def record_write(self, user_id: int) -> None:
        await self.session.execute(insert(ReviewWrite).values(user_id=user_id))

    async def purge_writes(self, *, older_than: timedelta) -> int:
        result = await self.session.execute(
            delete(ReviewWrite)
            .where(ReviewWrite.created_at < func.now() - older_than)
            .returning(ReviewWrite.id)
        )
        return len(result.all())

    # -- the demo seed ------------------------------------------------------------------------

    async def seed_users(self, users: list[dict[str, Any]]) -> None:
        await self.session.execute(insert(User).values(users).on_conflict_do_nothing())

    async def seed_reviews(
        self, reviews: list[dict[str, Any]]
    ) -> list[tuple[int, int, int, int, int]]:
        """Insert the reviews not there yet: (id, book id, author id, rating, helpful count)
        of those inserted."""
        result = await self.session.execute(
            insert(Review)
            .values(reviews)
            .on_conflict_do_nothing(index_elements=[Review.user_id, Review.book_id])
            .returning(
                Review.id, Review.book_id, Review.user_id, Review.rating, Review.helpful_count
            )
        )
        return [(row[0], row[1], row[2], row[3], row[4]) for row in result.all()]

    async def seed_votes(self, votes: list[dict[str, Any]]) -> None:
        if votes:
            await self.session.execute(
                insert(ReviewHelpfulVote).values(votes).on_conflict_do_nothing()
            )
