"""The prebook input, defined once (GraphQL shape, description, limits)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from app.addresses.schemas import Address
from app.graphql.ids import id_decoder
from app.graphql.inputs import GLOBAL_ID, Input, graphql_input


class PrebookData(Input):
    book_id: Annotated[int, BeforeValidator(id_decoder("Book")), GLOBAL_ID] = Field(
        description="The book."
    )
    # The 1-10 range is a business rule with its own code (PREBOOK_QUANTITY_INVALID),
    # checked by the service.
    quantity: int = Field(description="Copies (1-10).")
    shipping_address: Address = Field(description="Where the order will ship.")


@graphql_input(PrebookData, description="Reserve copies of a book that can't be bought now.")
class PrebookInput: ...
