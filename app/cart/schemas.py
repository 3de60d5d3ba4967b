"""Cart DTOs: what the repository reads and the service hands to the GraphQL types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from app.books.schemas import BookRow
from app.core.errors import ErrorCode
from app.inventory.schemas import StockRow

# Guest cart tokens are 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True, slots=True)
class CartOwner:
    """Whose cart an operation is on: a user's (opened on first use), or a guest cart whose
    token the request presented (already resolved to the cart's id)."""

    user_id: int | None = None
    guest_cart_id: int | None = None

    @classmethod
    def of_user(cls, user_id: int) -> CartOwner:
        return cls(user_id=user_id)

    @classmethod
    def of_guest(cls, cart_id: int) -> CartOwner:
        return cls(guest_cart_id=cart_id)


@dataclass(frozen=True, slots=True)
class CartHead:
    """A cart's own row, as reads need it."""

    id: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a change of one book's line must respect, read with the cart locked."""

    book: StockRow | None  # the book's sale data; None: no such book
    current: int | None  # copies the line holds; None: the book isn't in the cart
    lines: int  # the cart's lines


@dataclass(frozen=True, slots=True)
class NewGuestCart:
    """A guest cart just created, and its token: shown to the client once, stored only as
    a hash."""

    token: str
    cart_id: int


@dataclass(frozen=True, slots=True)
class MergedLine:
    """A line a merge puts in the account's cart (a new line keeps the guest line's price
    and date; an existing line only changes its quantity)."""

    book_id: int
    quantity: int
    price_when_added: Decimal
    added_at: datetime


@dataclass(frozen=True, slots=True)
class CartWarning:
    code: ErrorCode
    message: str
    book_id: int | None  # None for a warning about the whole cart
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
    cart_id: int
    updated_at: datetime | None
    lines: list[CartLine]
    warnings: list[CartWarning] = field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))
