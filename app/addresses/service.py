"""The address book: at most 20 addresses, always one default while there are any, and
the address an order ships to (saved, or given with the order)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import MAX_SAVED_ADDRESSES, PostalAddress
from app.addresses.repository import AddressRepository
from app.addresses.schemas import SavedAddressRow, ShipsTo
from app.core.errors import AppError, ErrorCode, NotFoundError


def address_not_found(field: str = "id") -> NotFoundError:
    return NotFoundError("Address not found", code=ErrorCode.ADDRESS_NOT_FOUND, field=field)


async def get(session: AsyncSession, *, user_id: int, address_id: int) -> SavedAddressRow:
    found = await AddressRepository(session).get(user_id, address_id)
    if found is None:
        raise address_not_found()  # someone else's too: never reveal it exists
    return found


async def create(session: AsyncSession, *, user_id: int, address: PostalAddress) -> int:
    """Save an address; the first one becomes the default."""
    addresses = AddressRepository(session)
    await addresses.lock_book(user_id)
    count = await addresses.count(user_id)
    if count >= MAX_SAVED_ADDRESSES:
        raise AppError(
            f"An address book holds at most {MAX_SAVED_ADDRESSES} addresses",
            code=ErrorCode.ADDRESS_LIMIT_EXCEEDED,
            field="input",
        )
    return await addresses.add(user_id, address, is_default=count == 0)


async def update(
    session: AsyncSession, *, user_id: int, address_id: int, address: PostalAddress
) -> None:
    """Replace a saved address (orders keep the copy they were placed with)."""
    if not await AddressRepository(session).replace(user_id, address_id, address):
        raise address_not_found()


async def delete(session: AsyncSession, *, user_id: int, address_id: int) -> None:
    """Remove a saved address; if it was the default, the newest one left becomes it."""
    addresses = AddressRepository(session)
    await addresses.lock_book(user_id)
    was_default = await addresses.remove(user_id, address_id)
    if was_default is None:
        raise address_not_found()
    if was_default:
        await addresses.make_default(user_id, None)


async def set_default(session: AsyncSession, *, user_id: int, address_id: int) -> None:
    addresses = AddressRepository(session)
    await addresses.lock_book(user_id)
    await get(session, user_id=user_id, address_id=address_id)
    await addresses.make_default(user_id, address_id)


async def books(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, list[SavedAddressRow]]:
    return await AddressRepository(session).books(user_ids) if user_ids else {}


async def ship_to(session: AsyncSession, *, user_id: int, given: ShipsTo) -> PostalAddress:
    """The address an order ships to: a copy of the saved one, or the one given."""
    if given.shipping_address is not None:
        return given.shipping_address.value()
    assert given.address_id is not None  # the input holds exactly one of them
    saved = await AddressRepository(session).get(user_id, given.address_id)
    if saved is None:
        raise address_not_found(field="input.addressId")
    return saved.address
