"""Books a user saved for later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

MAX_WISHLIST_ITEMS = 500


class WishlistItem(Base):
    __tablename__ = "wishlist_items"
    __table_args__ = (
        # Adding a book twice (even at the same moment) keeps one row.
        UniqueConstraint("user_id", "book_id"),
        Index(None, "user_id", "added_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
