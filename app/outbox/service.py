"""The outbox, for the domains that write to it and the consumers that read it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert, Select

from app.outbox import repository
from app.outbox.repository import OutboxRepository

# Delivered messages are kept this long (to see what was sent), then `poetry run purge`
# deletes them.
RETENTION = timedelta(days=30)


async def add_from(session: AsyncSession, topic: str, payloads: Select[Any]) -> int:
    """A message of `topic` per row of `payloads`, in the caller's transaction (they are
    delivered if, and only if, that transaction commits); how many."""
    return await OutboxRepository(session).add_from(topic, payloads)


def insertion(topic: str, payloads: Select[Any]) -> Insert:
    """The statement `add_from` runs, for a domain that folds it into a statement of its
    own (same rows, same transaction)."""
    return repository.insertion(topic, payloads)


async def purge_processed(session: AsyncSession, *, older_than: timedelta) -> int:
    return await OutboxRepository(session).purge_processed(older_than)
