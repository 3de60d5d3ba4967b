"""Reusable Pydantic building blocks: every string input is trimmed, bounded and free of
control characters.

    Name = Annotated[str, bounded(200), SINGLE_LINE]
    Description = Annotated[str, bounded(5000), MULTI_LINE]
"""

from __future__ import annotations

import unicodedata

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
