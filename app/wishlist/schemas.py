"""What the wishlist repository reads (the wishlist takes no input beyond IDs and the
signed token of an alert's unsubscribe link)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.books.schemas import BookRow


@dataclass(frozen=True, slots=True)
class WishlistItemRow:
    item_id: int
    added_at: datetime
    notify_when_available: bool
    notified_at: datetime | None
    book: BookRow  # live price and availability


# What an alert's unsubscribe link is signed for (app.mail.links).
ALERT_OFF = "wishlist alert off"
