"""The signed-in user's address book."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.addresses import service as addresses_service
from app.addresses.schemas import Address as AddressData
from app.addresses.schemas import AddressInput
from app.addresses.types import Address
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import parse_input
from app.graphql.node import global_id
from app.graphql.permissions import IsAuthenticated
from app.users import service as users_service
from app.users.types import User


async def _saved(context: Context, address_id: int) -> Address:
    async with context.session() as session:
        row = await addresses_service.get(session, user_id=context.viewer.id, address_id=address_id)
    return Address.of_saved(row)


@strawberry.type
class AddressesMutation:
    @strawberry.mutation(
        description="Save an address (at most 20: ADDRESS_LIMIT_EXCEEDED). The first one "
        "saved becomes your default address.",
        permission_classes=[IsAuthenticated],
    )
    async def create_address(
        self, info: Info[Context, None], input: AddressInput
    ) -> Address | None:
        address = parse_input(AddressData, input).value()
        context = info.context
        async with context.transaction() as session:
            address_id = await addresses_service.create(
                session, user_id=context.viewer.id, address=address
            )
        return await _saved(context, address_id)

    @strawberry.mutation(
        description="Replace a saved address with `input`. Orders keep the copy they were "
        "placed with. ADDRESS_NOT_FOUND for an ID that isn't one of yours.",
        permission_classes=[IsAuthenticated],
    )
    async def update_address(
        self, info: Info[Context, None], id: strawberry.ID, input: AddressInput
    ) -> Address | None:
        address_id = decode_id(id, "Address", field="id")
        address = parse_input(AddressData, input).value()
        context = info.context
        async with context.transaction() as session:
            await addresses_service.update(
                session, user_id=context.viewer.id, address_id=address_id, address=address
            )
        return await _saved(context, address_id)

    @strawberry.mutation(
        description="Remove a saved address; if it was the default, the newest one left "
        "becomes it. Answers its ID, for client caches to evict.",
        permission_classes=[IsAuthenticated],
    )
    async def delete_address(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> strawberry.ID | None:
        address_id = decode_id(id, "Address", field="id")
        context = info.context
        async with context.transaction() as session:
            await addresses_service.delete(
                session, user_id=context.viewer.id, address_id=address_id
            )
        return global_id("Address", address_id)

    @strawberry.mutation(
        description="Make a saved address your default. Answers you, with the new "
        "`defaultAddress`.",
        permission_classes=[IsAuthenticated],
    )
    async def set_default_address(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> User | None:
        address_id = decode_id(id, "Address", field="id")
        context = info.context
        async with context.transaction() as session:
            await addresses_service.set_default(
                session, user_id=context.viewer.id, address_id=address_id
            )
            return User.from_model(await users_service.get_user(session, context.viewer.id))
