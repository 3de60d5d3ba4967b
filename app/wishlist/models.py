"""Books a user saved for later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

MAX_WISHLIST_ITEMS = 500


class WishlistItem(Base):
    __tablename__ = "wishlist_items"
    __table_args__ = (
        # Adding a book twice (even at the same moment) keeps one row.
        UniqueConstraint("user_id", "book_id"),
        Index(None, "user_id", "added_at", "id"),
        # Who to tell when a book becomes available: its subscribed items only.
        Index(
            "ix_wishlist_items_alerts", "book_id", postgresql_where=text("notify_when_available")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Back-in-stock alerts: an email each time the book becomes purchasable again.
    notify_when_available: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    notify_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
