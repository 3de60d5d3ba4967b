"""Per-request batch loaders of the address book."""

from __future__ import annotations

from app.addresses import service as addresses_service
from app.addresses.schemas import SavedAddressRow
from app.graphql.loaders import ContextLoader


class AddressBookLoader(ContextLoader[int, list[SavedAddressRow]]):
    """Each user's saved addresses (callers check the viewer may see that user)."""

    async def batch_load_fn(self, keys: list[int]) -> list[list[SavedAddressRow]]:
        async with self.context.session() as session:
            books = await addresses_service.books(session, keys)
        return [books.get(key, []) for key in keys]
