"""What the wishlist repository reads (the wishlist takes no input beyond IDs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.books.schemas import BookRow


@dataclass(frozen=True, slots=True)
class WishlistItemRow:
    item_id: int
    added_at: datetime
    book: BookRow  # live price and availability
