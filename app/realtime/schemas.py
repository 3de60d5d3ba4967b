"""Limits of the subscriptions' arguments."""

from __future__ import annotations

from app.core.errors import ValidationFailed

# Books one `bookAvailabilityChanged` follows (a page of a storefront's listing and more).
MAX_BOOK_IDS = 100


class BookIdsTooMany(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(f"`bookIds` takes at most {MAX_BOOK_IDS} ids", field="bookIds")
