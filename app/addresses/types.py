"""The GraphQL type of a postal address."""

from __future__ import annotations

from typing import Self

import strawberry

from app.addresses.models import PostalAddress
from app.addresses.schemas import SavedAddressRow
from app.graphql.ids import encode_id


@strawberry.type(
    description="A postal address: one of your saved addresses, or the copy an order or "
    "prebook keeps."
)
class Address:
    id: strawberry.ID | None = strawberry.field(
        description="The saved address's ID (for `addressId`, `updateAddress`, "
        "`deleteAddress`, `setDefaultAddress`); null on an order's or prebook's copy."
    )
    full_name: str = strawberry.field(description="Recipient.")
    line1: str = strawberry.field(description="Street and number.")
    line2: str | None = strawberry.field(description="Apartment, floor, c/o...")
    city: str = strawberry.field(description="City.")
    postal_code: str = strawberry.field(description="Postal code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, address: PostalAddress, saved_id: int | None = None) -> Self:
        address_id = None if saved_id is None else strawberry.ID(encode_id("Address", saved_id))
        return cls(
            id=address_id,
            full_name=address.full_name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            postal_code=address.postal_code,
            country=address.country,
        )

    @classmethod
    def of_saved(cls, row: SavedAddressRow) -> Self:
        return cls.of(row.address, row.id)
