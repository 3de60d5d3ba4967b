"""Reviews, helpfulness votes and the record of review writes (for the rate limit).

A book's rating summary is not here: it lives on the book's row (`books.rating_histogram`
and `books.rating_average`), where the catalog's listing reads it for free and the RATING
order has its index. The reviews service keeps it current.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, string_enum

TITLE_MAX_LENGTH = 120
BODY_MAX_LENGTH = 5000
MIN_RATING, MAX_RATING = 1, 5


class ReviewStatus(StrEnum):
    PUBLISHED = "PUBLISHED"
    HIDDEN = "HIDDEN"


PUBLISHED = text("status = 'PUBLISHED'")


class Review(TimestampMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        # One review per reader and book, also under concurrent writes.
        UniqueConstraint("user_id", "book_id"),
        CheckConstraint(f"rating BETWEEN {MIN_RATING} AND {MAX_RATING}", name="rating_range"),
        CheckConstraint("helpful_count >= 0", name="helpful_count_not_negative"),
        # A book's list, newest first (public, and moderation's by book) and by rating: an
        # index range scan per page. (MOST_HELPFUL puts verified purchases first, computed
        # at read: it reads the book's published reviews, not the table.)
        Index(None, "book_id", "created_at", "id"),
        Index("ix_reviews_book_rating", "book_id", "rating", "id", postgresql_where=PUBLISHED),
        # Moderation: everything newest first, or by status.
        Index(None, "created_at", "id"),
        Index(None, "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    # RESTRICT: deleting a reviewer must go through the reviews (and their summaries).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX_LENGTH))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ReviewStatus] = mapped_column(
        string_enum(ReviewStatus, "review_status"), server_default=ReviewStatus.PUBLISHED.value
    )
    helpful_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class ReviewHelpfulVote(Base):
    """A reader found a review helpful: once per reader and review."""

    __tablename__ = "review_helpful_votes"
    __table_args__ = (PrimaryKeyConstraint("review_id", "user_id"),)

    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReviewWrite(Base):
    """A review written, changed or deleted, kept for the rate limit's window. In PostgreSQL
    rather than process memory, so the limit holds across every instance of the API."""

    __tablename__ = "review_writes"
    __table_args__ = (Index(None, "user_id", "created_at"), Index(None, "created_at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
