"""Validated prebook inputs."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

from app.graphql.ids import id_decoder
from app.orders.schemas import Address


class PrebookInput(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    book_id: Annotated[int, BeforeValidator(id_decoder("Book"))]
    # The 1-10 range is a business rule with its own code (PREBOOK_QUANTITY_INVALID),
    # checked by the service.
    quantity: int
    shipping_address: Address
