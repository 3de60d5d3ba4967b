"""Cart DTOs: what the repository reads and the service hands to the GraphQL types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from app.books.schemas import BookRow
from app.core.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class CartWarning:
    code: ErrorCode
    message: str
    book_id: int
    available_quantity: int | None = None


@dataclass(frozen=True, slots=True)
class CartLine:
    item_id: int
    quantity: int
    added_at: datetime
    price_when_added: Decimal
    book: BookRow  # with its current price and stock

    @property
    def unit_price(self) -> Decimal:
        return self.book.price

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class CartView:
    user_id: int
    updated_at: datetime | None
    lines: list[CartLine]
    warnings: list[CartWarning] = field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))
