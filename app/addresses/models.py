"""A postal address: a value object stored inline, as columns of whatever row holds it
(an order ships to one, a prebook will; a user's saved addresses will be rows of them)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from sqlalchemy import String
from sqlalchemy.orm import Composite, composite, mapped_column

FULL_NAME_MAX_LENGTH = 200
LINE_MAX_LENGTH = 200
CITY_MAX_LENGTH = 100
POSTAL_CODE_MAX_LENGTH = 20


@dataclasses.dataclass(frozen=True, slots=True)
class PostalAddress:
    full_name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2

    def fingerprint(self) -> str:
        """Stable hash of the address (to recognise a retried checkout)."""
        canonical = json.dumps(dataclasses.asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


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
