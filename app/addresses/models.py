"""A postal address: a value object stored inline, as columns of whatever row holds it
(an order ships to one, a prebook will), and a user's book of saved addresses, rows of them.
An order copies the address it ships to: editing the book never changes past orders."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from sqlalchemy import BigInteger, Boolean, ForeignKey, Identity, Index, String, text
from sqlalchemy.orm import Composite, Mapped, composite, mapped_column

from app.db.base import Base, TimestampMixin

FULL_NAME_MAX_LENGTH = 200
LINE_MAX_LENGTH = 200
CITY_MAX_LENGTH = 100
POSTAL_CODE_MAX_LENGTH = 20
MAX_SAVED_ADDRESSES = 20


@dataclasses.dataclass(frozen=True, slots=True)
class PostalAddress:
    full_name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2

    def as_dict(self) -> dict[str, str | None]:
        """`dataclasses.asdict` without its deep copies (every field is a string or None)."""
        return {name: getattr(self, name) for name in _ADDRESS_FIELDS}

    def fingerprint(self) -> str:
        """Stable hash of the address (to recognise a retried checkout)."""
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


_ADDRESS_FIELDS = tuple(field.name for field in dataclasses.fields(PostalAddress))


def address_columns(prefix: str) -> Composite[PostalAddress]:
    """The columns `<prefix>full_name` ... `<prefix>country` of a mapped class, read and
    written as one `PostalAddress` attribute."""
    return composite(
        PostalAddress,
        mapped_column(f"{prefix}full_name", String(FULL_NAME_MAX_LENGTH), nullable=False),
        mapped_column(f"{prefix}line1", String(LINE_MAX_LENGTH), nullable=False),
        mapped_column(f"{prefix}line2", String(LINE_MAX_LENGTH), nullable=True),
        mapped_column(f"{prefix}city", String(CITY_MAX_LENGTH), nullable=False),
        mapped_column(f"{prefix}postal_code", String(POSTAL_CODE_MAX_LENGTH), nullable=False),
        mapped_column(f"{prefix}country", String(2), nullable=False),
    )


class SavedAddress(TimestampMixin, Base):
    __tablename__ = "saved_addresses"
    __table_args__ = (
        Index(None, "user_id", "id"),
        # At most one default per user, even when two requests set one at once.
        Index(
            "uq_saved_addresses_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    address: Mapped[PostalAddress] = address_columns("")
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
