"""What the inventory reads (a book's sale data, locked) and records (order lines)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class StockRow:
    id: int
    title: str
    price: Decimal
    stock_quantity: int
    prebook_demand: int
    is_archived: bool
    release_date: date


@dataclass(frozen=True, slots=True)
class OrderLine:
    book_id: int
    title: str
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    def as_row(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "line_total": self.line_total}


@dataclass(frozen=True, slots=True)
class Basket:
    """What a checkout finds, the cart locked: the order a repeated idempotency key names
    (then nothing else is read), else the cart's {book_id: quantity} and its books, locked."""

    previous: int | None
    wanted: dict[int, int]
    locked: dict[int, StockRow]


@dataclass(frozen=True, slots=True)
class Placed:
    """What PostgreSQL gives an order it records: its id and clocks."""

    id: int
    created_at: datetime
    updated_at: datetime
