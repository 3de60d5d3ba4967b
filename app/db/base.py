"""Declarative base shared by every domain's models.

The constraint naming convention gives every index and constraint a predictable name, so
Alembic migrations can refer to (and drop) them by name.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum, MetaData, func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a statement violated, as the server reported it (these
    names come from the convention above)."""
    return getattr(error.orig.__cause__, "constraint_name", None) if error.orig else None


def string_enum(enum: type[StrEnum], name: str) -> Enum:
    """The column type of a status-like enum: VARCHAR(16) with a CHECK constraint `name`
    on its values (not a native PostgreSQL enum type)."""
    return Enum(
        enum, name=name, native_enum=False, create_constraint=True, length=16, validate_strings=True
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
