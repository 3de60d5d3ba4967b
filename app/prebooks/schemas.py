"""What the prebooks repository reads, and the prebook input, defined once (GraphQL
shape, description, limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from app.addresses.models import PostalAddress
from app.addresses.schemas import ShipsTo
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, graphql_input
from app.prebooks.models import PrebookStatus


@dataclass(frozen=True, slots=True)
class PrebookRow:
    id: int
    user_id: int
    book_id: int
    quantity: int
    status: PrebookStatus
    price_at_prebook: Decimal
    shipping_address: PostalAddress
    order_id: int | None
    created_at: datetime
    fulfilled_at: datetime | None
    cancelled_at: datetime | None


class PrebookData(ShipsTo):
    book_id: Annotated[int, BeforeValidator(id_decoder("Book")), GLOBAL_ID] = Field(
        description="The book."
    )
    # The 1-10 range is a business rule with its own code (PREBOOK_QUANTITY_INVALID),
    # checked by the service.
    quantity: int = Field(description="Copies (1-10).")


@graphql_input(
    PrebookData,
    description="Reserve copies of a book that can't be bought now; its order will ship to "
    "a saved address (`addressId`) or to `shippingAddress`.",
    order=["book_id", "quantity", "shipping_address", "address_id"],
)
class PrebookInput: ...
