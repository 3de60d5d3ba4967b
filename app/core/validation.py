"""Reusable Pydantic building blocks: every string input is trimmed, bounded and free of
control characters.

    Name = Annotated[str, bounded(200), SINGLE_LINE]
    Description = Annotated[str, bounded(5000), MULTI_LINE]

Every moment is a `Moment`: an aware UTC datetime within years 1-9999.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def bounded(max_length: int, *, min_length: int = 1) -> StringConstraints:
    """Trimmed, between `min_length` and `max_length` characters."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


def _control_characters(value: str, allowed: str) -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


def _single_line(value: str) -> str:
    if _control_characters(value, allowed=""):
        raise ValueError("must be a single line without control characters")
    return value


def _multi_line(value: str) -> str:
    if _control_characters(value, allowed="\n\t"):
        raise ValueError("must not contain control characters")
    return value


SINGLE_LINE = AfterValidator(_single_line)
MULTI_LINE = AfterValidator(_multi_line)


def _in_utc(moment: datetime) -> datetime:
    # A moment is compared and stored in UTC: "0001-01-01T00:00:00+14:00" falls before year
    # 1 there, which neither Python nor the database driver can represent.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "must fall between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC"
        ) from None


# A point in time: without an offset it is taken as UTC.
Moment = Annotated[datetime, AfterValidator(_in_utc)]
