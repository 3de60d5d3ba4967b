"""What the inventory reads: a book's sale data, locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StockRow:
    id: int
    title: str
    price: Decimal
    stock_quantity: int
    prebook_demand: int
    is_archived: bool
    release_date: date
