"""Carts (a user's, or a guest's opened by a token) and their lines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

MAX_LINE_QUANTITY = 99
MAX_LINES = 50
TOKEN_HASH_LENGTH = 64  # hex SHA-256
IP_ADDRESS_LENGTH = 45
_GUEST = text("token_hash IS NOT NULL")


class Cart(Base):
    """A cart's own row: its owner, its clocks, and the lock that makes the operations on one
    cart (and a user's checkouts) take turns.

    A cart belongs to a user or, for a visitor who hasn't signed in, to whoever holds its
    token (only the token's hash is stored). A user's cart exists once per account; a guest
    cart lives until it is merged into an account or goes unused for GUEST_CART_TTL_DAYS."""

    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint("(user_id IS NULL) <> (token_hash IS NULL)", name="one_owner"),
        # `poetry run purge` finds the expired guest carts; creation is limited per address.
        Index(None, "last_used_at", postgresql_where=_GUEST),
        Index(None, "created_ip", "created_at", postgresql_where=_GUEST),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    # Where a guest cart was created from (the creation limit counts per address).
    created_ip: Mapped[str | None] = mapped_column(String(IP_ADDRESS_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The last change to its lines (null for a cart never changed).
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The last change, or for a guest cart the last request that presented its token:
    # guest carts expire by it.
    last_used_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        # Concurrent adds of one book update one line instead of creating two.
        UniqueConstraint("cart_id", "book_id"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_LINE_QUANTITY}", name="quantity_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    # The price when the book was put in the cart: a later change is shown as a warning.
    price_when_added: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MergedGuestCart(Base):
    """A guest cart merged into an account, remembered by its token's hash: merging the same
    token into the same account again (a retry, a second tab signing in) is then a success
    that merges nothing, and into any other account it is unknown. Purged with the expired
    guest carts."""

    __tablename__ = "merged_guest_carts"

    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    merged_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
