"""The GraphQL type of a postal address."""

from __future__ import annotations

import dataclasses
from typing import Self

import strawberry

from app.addresses.models import PostalAddress


@strawberry.type(description="A postal address.")
class Address:
    full_name: str = strawberry.field(description="Recipient.")
    line1: str = strawberry.field(description="Street and number.")
    line2: str | None = strawberry.field(description="Apartment, floor, c/o...")
    city: str = strawberry.field(description="City.")
    postal_code: str = strawberry.field(description="Postal code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")

    @classmethod
    def of(cls, address: PostalAddress) -> Self:
        return cls(**dataclasses.asdict(address))
