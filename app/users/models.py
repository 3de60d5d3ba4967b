"""Users, their sessions (refresh tokens) and failed sign-in records."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, string_enum

EMAIL_MAX_LENGTH = 254
FULL_NAME_MAX_LENGTH = 200


class UserRole(StrEnum):
    CUSTOMER = "CUSTOMER"
    ADMIN = "ADMIN"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased, which makes the unique constraint case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    full_name: Mapped[str] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        Enum(
            UserRole,
            name="user_role",
            native_enum=False,
            create_constraint=True,
            length=16,
            validate_strings=True,
        ),
        default=UserRole.CUSTOMER,
        server_default=UserRole.CUSTOMER.value,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # When the owner of `email` proved it (followed a link sent there); None: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """One refresh token. Rotation creates a new row in the same family (one family = one
    sign-in session); presenting a rotated token again revokes the whole family."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index(None, "user_id", "revoked_at"), Index(None, "family_id"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("refresh_tokens.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(String(45))


class LoginFailure(Base):
    """A failed sign-in, kept for the throttling window. In PostgreSQL rather than process
    memory so that the limit holds across every instance of the API."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index(None, "email", "ip_address", "created_at"),
        Index(None, "ip_address", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    ip_address: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "VERIFY_EMAIL"  # the account's address (24 h)
    RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 - a purpose (30 min)
    CHANGE_EMAIL = "CHANGE_EMAIL"  # a new address, applied when confirmed (24 h)


class AccountToken(Base):
    """A single-use token sent by email. Only its SHA-256 is stored; the link's token is
    derived from a seed kept in the email's outbox row (see app.mail.links)."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index(None, "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(string_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the link was sent to: the account's (it must still be), or the new one.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Used, or replaced by a newer token of the same purpose: either way, spent.
    spent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EmailRequest(Base):
    """An account email someone asked for (a password reset, a verification, an email
    change), kept for the throttling window: in PostgreSQL, so the limits hold across
    instances."""

    __tablename__ = "email_requests"
    __table_args__ = (
        Index(None, "purpose", "email", "created_at"),
        Index(None, "ip_address", "created_at"),
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(string_enum(TokenPurpose, "request_purpose"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    ip_address: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
