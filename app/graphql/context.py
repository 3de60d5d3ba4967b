"""Per-request GraphQL context: database access, settings and (lazily) the current user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext

from app.core.config import Settings
from app.db.session import Database


class Context(BaseContext):
    """What every resolver gets as `info.context`.

    One `AsyncSession` serves the whole request. GraphQL resolves sibling fields
    concurrently and an `AsyncSession` must never run two statements at once, so every use
    goes through `session()` or `transaction()`, which take turns on a lock.
    """

    def __init__(self, *, database: Database, settings: Settings) -> None:
        super().__init__()
        self.database = database
        self.settings = settings
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()

    def _get_session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.database.sessionmaker()
        return self._session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Exclusive use of the request's session for reading."""
        async with self._lock:
            yield self._get_session()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block succeeds, rolls back when it raises."""
        async with self._lock:
            session = self._get_session()
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def close(self) -> None:
        """End of request: give the connection back (rolling back any read transaction)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
