"""Every SQL statement of the address book."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.addresses.models import PostalAddress, SavedAddress
from app.addresses.schemas import SavedAddressRow
from app.db.rows import Shape
from app.users.models import User

SAVED = Shape(SavedAddressRow, SavedAddress)


class AddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_book(self, user_id: int) -> None:
        """One user's address book changes take turns (the limit and the one default hold
        under races)."""
        await self.session.execute(
            select(User.id).where(User.id == user_id).with_for_update(key_share=True)
        )

    async def count(self, user_id: int) -> int:
        statement = select(func.count()).where(SavedAddress.user_id == user_id)
        return int(await self.session.scalar(statement) or 0)

    async def get(self, user_id: int, address_id: int) -> SavedAddressRow | None:
        statement = select(*SAVED.columns()).where(
            SavedAddress.id == address_id, SavedAddress.user_id == user_id
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else SAVED.of(row)

    async def books(self, user_ids: Sequence[int]) -> dict[int, list[SavedAddressRow]]:
        """Each user's addresses, oldest first."""
        statement = (
            select(*SAVED.columns())
            .where(SavedAddress.user_id.in_(user_ids))
            .order_by(SavedAddress.user_id, SavedAddress.id)
        )
        books: dict[int, list[SavedAddressRow]] = {user_id: [] for user_id in user_ids}
        for row in SAVED.all(await self.session.execute(statement)):
            books[row.user_id].append(row)
        return books

    async def add(self, user_id: int, address: PostalAddress, *, is_default: bool) -> int:
        saved = SavedAddress(user_id=user_id, address=address, is_default=is_default)
        self.session.add(saved)
        await self.session.flush()
        return saved.id

    async def replace(self, user_id: int, address_id: int, address: PostalAddress) -> bool:
        saved = await self.session.get(SavedAddress, address_id)
        if saved is None or saved.user_id != user_id:
            return False
        saved.address = address
        await self.session.flush()
        return True

    async def remove(self, user_id: int, address_id: int) -> bool | None:
        """Whether the removed address was the default; None when there was none such."""
        result = await self.session.execute(
            delete(SavedAddress)
            .where(SavedAddress.id == address_id, SavedAddress.user_id == user_id)
            .returning(SavedAddress.is_default)
        )
        return result.scalar_one_or_none()

    async def make_default(self, user_id: int, address_id: int | None) -> None:
        """`address_id` becomes the default (None: the newest address, if any). The old
        default is cleared first: the unique index allows one default at any moment."""
        await self.session.execute(
            update(SavedAddress)
            .where(SavedAddress.user_id == user_id, SavedAddress.is_default)
            .values(is_default=False)
        )
        if address_id is None:
            address_id = await self.session.scalar(
                select(func.max(SavedAddress.id)).where(SavedAddress.user_id == user_id)
            )
        if address_id is not None:
            await self.session.execute(
                update(SavedAddress)
                .where(SavedAddress.id == address_id, SavedAddress.user_id == user_id)
                .values(is_default=True, updated_at=func.now())
            )
