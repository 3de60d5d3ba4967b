"""Per-request batch loaders of the accounts domain."""

from __future__ import annotations

from app.graphql.loaders import ContextLoader
from app.users import service as users_service
from app.users.models import User


class UserLoader(ContextLoader[int, User | None]):
    """Users by id, for admin views (callers check the viewer may see them)."""

    async def batch_load_fn(self, keys: list[int]) -> list[User | None]:
        async with self.context.session() as session:
            users = {user.id: user for user in await users_service.get_users(session, keys)}
        return [users.get(key) for key in keys]


class PendingEmailLoader(ContextLoader[int, str | None]):
    """The address of each user's email change awaiting confirmation."""

    async def batch_load_fn(self, keys: list[int]) -> list[str | None]:
        async with self.context.session() as session:
            pending = await users_service.pending_emails(session, keys)
        return [pending.get(key) for key in keys]
