"""The postal address input, defined once: validation, limits, GraphQL shape; where an
order ships (a saved address or one given inline); what the address book reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from app.addresses.models import (
    CITY_MAX_LENGTH,
    FULL_NAME_MAX_LENGTH,
    LINE_MAX_LENGTH,
    POSTAL_CODE_MAX_LENGTH,
    PostalAddress,
)
from app.core.countries import ISO_3166_ALPHA2
from app.core.validation import SINGLE_LINE, bounded
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, Input, graphql_input


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. DE or US")
    return code


def _postal_code(value: str) -> str:
    if not all(char.isalnum() or char in " -" for char in value):
        raise ValueError("may contain only letters, digits, spaces and hyphens")
    return value.upper()


Line = Annotated[str, bounded(LINE_MAX_LENGTH), SINGLE_LINE]


class Address(Input):
    full_name: Annotated[str, bounded(FULL_NAME_MAX_LENGTH), SINGLE_LINE] = Field(
        description="Recipient (1-200 characters)."
    )
    line1: Line = Field(description="Street and number (1-200 characters).")
    line2: Annotated[str, bounded(LINE_MAX_LENGTH, min_length=0), SINGLE_LINE] | None = Field(
        default=None, description="Second line (optional, up to 200 characters)."
    )
    city: Annotated[str, bounded(CITY_MAX_LENGTH), SINGLE_LINE] = Field(
        description="City (1-100 characters)."
    )
    postal_code: Annotated[str, bounded(POSTAL_CODE_MAX_LENGTH), AfterValidator(_postal_code)] = (
        Field(description="Postal code (1-20 letters, digits, spaces or hyphens).")
    )
    # No length limit of its own: the code list bounds it, and says so in one message.
    country: Annotated[str, AfterValidator(_country)] = Field(
        description="ISO 3166-1 alpha-2 country code, e.g. DE or US."
    )

    def value(self) -> PostalAddress:
        return PostalAddress(
            self.full_name, self.line1, self.line2, self.city, self.postal_code, self.country
        )


@graphql_input(Address, description="A postal address (shipping).")
class AddressInput: ...


AddressID = Annotated[int, BeforeValidator(id_decoder("Address")), GLOBAL_ID]


class ShipsTo(Input):
    """Where an order ships: exactly one of a saved address and an address given here."""

    address_id: AddressID | None = Field(
        default=None,
        description="One of your saved addresses (`User.addresses`); give this or "
        "`shippingAddress`. The order keeps a copy of it.",
    )
    shipping_address: Address | None = Field(
        default=None,
        validate_default=True,
        description="Where to ship; give this or `addressId`.",
    )

    @field_validator("shipping_address")
    @classmethod
    def _exactly_one(cls, address: Address | None, info: ValidationInfo) -> Address | None:
        if "address_id" not in info.data:  # `addressId` itself was refused
            return address
        saved = info.data["address_id"] is not None
        if saved and address is not None:
            raise ValueError("give `shippingAddress` or `addressId`, not both")
        if not saved and address is None:
            raise ValueError("give `shippingAddress` or `addressId`")
        return address


@dataclass(frozen=True, slots=True)
class SavedAddressRow:
    id: int
    user_id: int
    address: PostalAddress
    is_default: bool
    created_at: datetime
