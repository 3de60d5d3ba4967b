"""A consumer of one outbox topic: it claims due messages in batches (FOR UPDATE SKIP
LOCKED, so consumers on several instances never take the same message), hands them to its
handler, and records each outcome in the claiming transaction. A failed message is retried
with exponential backoff and is dead after `max_attempts`, with a log line.

Delivery is at least once: a consumer killed after delivering but before committing leaves
its batch to be delivered again, which is why every message has a stable identity (`uuid`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.db.session import Database, is_database_unavailable
from app.outbox.models import OutboxStatus
from app.outbox.repository import OutboxRepository, Settlement
from app.outbox.schemas import OutboxRow, Outcome, Verdict

logger = logging.getLogger("app.outbox")

Deliver = Callable[[OutboxRow], Awaitable[Outcome]]


class Unavailable(Exception):
    """Where the handler delivers is out of reach (connection refused, dropped): the batch
    stops there, and its messages not delivered yet are retried later."""


class Handler(Protocol):
    def open(self) -> AbstractAsyncContextManager[Deliver]:
        """A delivery session for one batch (one connection for all its messages)."""
        ...

    def describe(self, row: OutboxRow) -> str:
        """What the message is, for log lines (never its secrets or personal data)."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait before attempt n+1: `first`, doubling per attempt, at most `cap`, give or
    take a tenth (consumers that failed together don't retry in lockstep)."""

    first: timedelta
    cap: timedelta = timedelta(hours=6)

    def after(self, attempts: int) -> timedelta:
        wait: timedelta = min(self.first * 2 ** (attempts - 1), self.cap)
        return wait * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret


class Consumer:
    def __init__(
        self,
        database: Database,
        topic: str,
        handler: Handler,
        *,
        max_attempts: int,
        backoff: Backoff,
        batch_size: int = 20,
    ) -> None:
        self.database = database
        self.topic = topic
        self.handler = handler
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.batch_size = batch_size
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the message in flight, record the batch, and end `run`."""
        self.stopping.set()

    async def run(self, *, poll_seconds: float = 1.0) -> None:
        """Deliver until stopped, polling every `poll_seconds` while nothing is due."""
        while not self.stopping.is_set():
            try:
                handled = await self.run_once()
            except Exception as error:  # keep consuming once the database is back
                if is_database_unavailable(error):
                    logger.warning("outbox %s: database unavailable; retrying", self.topic)
                else:
                    logger.exception("outbox %s: claiming failed", self.topic)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), poll_seconds)

    async def run_once(self) -> int:
        """Claim one batch, deliver it and record the outcomes: how many were handled."""
        async with self.database.sessionmaker() as session, session.begin():
            outbox = OutboxRepository(session)
            rows = await outbox.claim(self.topic, self.batch_size)
            if not rows:
                return 0
            outcomes = await self._deliver(rows)
            await outbox.settle([self._settlement(row, outcome) for row, outcome in outcomes])
        return len(outcomes)

    async def _deliver(self, rows: Sequence[OutboxRow]) -> list[tuple[OutboxRow, Outcome]]:
        results: list[tuple[OutboxRow, Outcome]] = []
        try:
            async with self.handler.open() as deliver:
                for row in rows:
                    if self.stopping.is_set():
                        break  # the rest stay pending, unclaimed at commit
                    results.append((row, await self._one(deliver, row)))
        except Unavailable as down:
            # This message and those after it in the batch: not delivered, try later.
            results += [(row, Outcome.retry(str(down))) for row in rows[len(results) :]]
        return results

    async def _one(self, deliver: Deliver, row: OutboxRow) -> Outcome:
        try:
            return await deliver(row)
        except Unavailable:
            raise
        except Exception as error:  # a bug must not wedge the queue: count it as an attempt
            logger.exception("outbox message %s (%s) failed", row.id, self.handler.describe(row))
            return Outcome.retry(type(error).__name__)

    def _settlement(self, row: OutboxRow, outcome: Outcome) -> Settlement:
        attempts = row.attempts + 1
        if outcome.verdict is Verdict.DONE:
            return Settlement(row.id, OutboxStatus.DONE, attempts, None, None)
        what = self.handler.describe(row)
        if outcome.verdict is Verdict.RETRY and attempts < self.max_attempts:
            wait = self.backoff.after(attempts)
            logger.warning(
                "outbox message %s (%s): attempt %d of %d failed (%s); next in %.0f s",
                row.id,
                what,
                attempts,
                self.max_attempts,
                outcome.error,
                wait.total_seconds(),
            )
            next_try = datetime.now(UTC) + wait
            return Settlement(row.id, OutboxStatus.PENDING, attempts, next_try, outcome.error)
        logger.error(
            "outbox message %s (%s) is dead after %d attempt%s: %s",
            row.id,
            what,
            attempts,
            "" if attempts == 1 else "s",
            outcome.error,
        )
        return Settlement(row.id, OutboxStatus.DEAD, attempts, None, outcome.error)
