"""Every SQL statement of the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    case,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    update,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert, Select

from app.db.rows import Shape
from app.outbox.models import ERROR_MAX_LENGTH, OutboxMessage, OutboxStatus
from app.outbox.schemas import OutboxRow

ROW = Shape(OutboxRow, OutboxMessage)


@dataclass(frozen=True, slots=True)
class Settlement:
    """What becomes of a claimed message."""

    id: int
    status: OutboxStatus
    attempts: int
    available_at: datetime | None  # the next try, for a message still PENDING
    error: str | None


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_from(self, topic: str, payloads: Select[Any]) -> int:
        """One message per row of `payloads` (a select of one JSONB column), in one
        statement whatever the number of rows (how many)."""
        result = await self.session.execute(insertion(topic, payloads))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def claim(self, topic: str, limit: int) -> list[OutboxRow]:
        """The oldest due messages of `topic`, locked until the transaction ends. Rows
        another consumer holds are skipped, not waited for: consumers never share one."""
        statement = (
            select(*ROW.columns())
            .where(
                OutboxMessage.topic == topic,
                OutboxMessage.status == OutboxStatus.PENDING,
                # The statement's clock, not the transaction's: a long transaction sees time pass.
                OutboxMessage.available_at <= func.statement_timestamp(),
            )
            .order_by(OutboxMessage.available_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return ROW.all(await self.session.execute(statement))

    async def settle(self, settlements: Sequence[Settlement]) -> None:
        """Record what became of claimed messages, in one statement."""
        if not settlements:
            return
        changes = values(
            column("id", BigInteger),
            column("status", String),
            column("attempts", Integer),
            column("available_at", DateTime(timezone=True)),
            column("error", String),
            name="changes",
        ).data(
            [
                (s.id, s.status.value, s.attempts, s.available_at, _clip(s.error))
                for s in settlements
            ]
        )
        done = changes.c.status != OutboxStatus.PENDING.value
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == changes.c.id)
            .values(
                status=changes.c.status,
                attempts=changes.c.attempts,
                available_at=func.coalesce(
                    cast(changes.c.available_at, DateTime(timezone=True)),
                    OutboxMessage.available_at,
                ),
                last_error=cast(changes.c.error, String),
                processed_at=case((done, func.now()), else_=None),
            )
        )

    async def purge_processed(self, older_than: timedelta) -> int:
        """Delete delivered messages processed longer ago than `older_than` (dead ones stay
        for an operator to look at)."""
        result = await self.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.DONE,
                OutboxMessage.processed_at < func.now() - older_than,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def insertion(topic: str, payloads: Select[Any]) -> Insert:
    """The statement adding a message of `topic` per row of `payloads` (a select of one
    JSONB column). CTEs of `payloads` (a data-modifying one included) go to the top of the
    statement, where PostgreSQL wants them."""
    source = payloads.subquery("payloads")
    (payload,) = source.c
    return insert(OutboxMessage).from_select(
        ["topic", "payload"], select(literal(topic, String), payload)
    )


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:ERROR_MAX_LENGTH]
