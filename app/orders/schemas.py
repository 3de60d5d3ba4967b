"""Validated order inputs (shipping address, checkout, filters) and the address DTO."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from app.core.countries import ISO_3166_ALPHA2
from app.core.validation import SINGLE_LINE, bounded
from app.graphql.ids import id_decoder
from app.orders.models import OrderStatus

IDEMPOTENCY_KEY_MIN = 8
IDEMPOTENCY_KEY_MAX = 255


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. DE or US")
    return code


def _postal_code(value: str) -> str:
    if not all(char.isalnum() or char in " -" for char in value):
        raise ValueError("may contain only letters, digits, spaces and hyphens")
    return value.upper()


class _Input(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Address(_Input):
    full_name: Annotated[str, bounded(200), SINGLE_LINE]
    line1: Annotated[str, bounded(200), SINGLE_LINE]
    line2: Annotated[str, bounded(200, min_length=0), SINGLE_LINE] | None = None
    city: Annotated[str, bounded(100), SINGLE_LINE]
    postal_code: Annotated[str, bounded(20), AfterValidator(_postal_code)]
    country: Annotated[str, Field(min_length=2, max_length=2), AfterValidator(_country)]

    def fingerprint(self) -> str:
        """Stable hash of the address (to recognise a retried checkout)."""
        canonical = json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class CheckoutInput(_Input):
    idempotency_key: Annotated[
        str,
        Field(
            min_length=IDEMPOTENCY_KEY_MIN,
            max_length=IDEMPOTENCY_KEY_MAX,
            pattern=r"^[\x21-\x7e]+$",
        ),
    ]
    shipping_address: Address


UserID = Annotated[int, BeforeValidator(id_decoder("User"))]


class OrderFilterInput(_Input):
    status: OrderStatus | None = None
    user_id: UserID | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    @model_validator(mode="after")
    def _range(self) -> Self:
        after, before = self.created_after, self.created_before
        if after is not None and before is not None and after > before:
            raise ValueError("`createdAfter` must not be later than `createdBefore`")
        return self
