"""Prebooks (pre-orders): copies reserved for a book that can't be bought now."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.addresses.models import PostalAddress, address_columns
from app.db.base import Base, TimestampMixin, string_enum

MAX_PREBOOK_QUANTITY = 10
PENDING = text("status = 'PENDING'")


class PrebookStatus(StrEnum):
    PENDING = "PENDING"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"


class Prebook(TimestampMixin, Base):
    __tablename__ = "prebooks"
    __table_args__ = (
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_PREBOOK_QUANTITY}", name="quantity_range"),
        # One waiting prebook per user and book, also under concurrent requests.
        Index(
            "uq_prebooks_user_id_book_id_pending",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=PENDING,
        ),
        # The queue of a book: first come, first served.
        Index("ix_prebooks_book_id_queue", "book_id", "created_at", "id", postgresql_where=PENDING),
        Index(None, "user_id", "created_at", "id"),
        Index(None, "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[PrebookStatus] = mapped_column(
        string_enum(PrebookStatus, "prebook_status"), default=PrebookStatus.PENDING
    )
    # The price guarantee: the order is priced at the lower of this and the price on the
    # day it is served.
    price_at_prebook: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    shipping_address: Mapped[PostalAddress] = address_columns("ship_")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The order of a book's queue (first come, first served), as `ix_prebooks_book_id_queue`.
QUEUE_ORDER = (Prebook.created_at, Prebook.id)
