"""Order read shapes, and inputs each defined once (GraphQL shape, description, limits):
checkout and the admins' filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, model_validator

from app.addresses.models import PostalAddress
from app.addresses.schemas import ShipsTo
from app.core.validation import Moment
from app.graphql.enums import graphql_enum
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, Input, graphql_input
from app.orders.models import OrderStatus

IDEMPOTENCY_KEY_MIN = 8
IDEMPOTENCY_KEY_MAX = 255

graphql_enum(
    description="Where an order is in its life.",
    values={
        "PENDING": "Placed; waiting for confirmation (payment is not part of this API).",
        "CONFIRMED": "Accepted and being prepared.",
        "SHIPPED": "Handed to the carrier; it can no longer be cancelled.",
        "DELIVERED": "Arrived.",
        "CANCELLED": "Cancelled; its copies went back into stock.",
    },
)(OrderStatus)


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: int
    user_id: int
    status: OrderStatus
    subtotal: Decimal
    total: Decimal
    currency: str
    shipping_address: PostalAddress
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderItemRow:
    order_id: int
    book_id: int
    title: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class CheckoutData(ShipsTo):
    idempotency_key: Annotated[
        str,
        Field(
            min_length=IDEMPOTENCY_KEY_MIN,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=r"^[\x21-\x7e]+$",
        ),
    ] = Field(
        description="8-255 printable characters, new for each order (e.g. a UUID). Sending "
        "the same checkout again with the same key returns the same order."
    )


@graphql_input(
    CheckoutData,
    description="Turn the cart into an order, shipped to a saved address (`addressId`) or "
    "to `shippingAddress`.",
    order=["idempotency_key", "shipping_address", "address_id"],
)
class CheckoutInput: ...


UserID = Annotated[int, BeforeValidator(id_decoder("User")), GLOBAL_ID]


class OrderFilterInput(Input):
    status: OrderStatus | None = Field(default=None, description="In this status.")
    user_id: UserID | None = Field(default=None, description="Of this user.")
    created_after: Moment | None = Field(
        default=None, description="Placed at or after this time (UTC without an offset)."
    )
    created_before: Moment | None = Field(
        default=None, description="Placed at or before this time (UTC without an offset)."
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        after, before = self.created_after, self.created_before
        if after is not None and before is not None and after > before:
            raise ValueError("`createdAfter` must not be later than `createdBefore`")
        return self


@graphql_input(OrderFilterInput, description="Which orders to list (admins).")
class OrderFilter: ...
