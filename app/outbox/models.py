"""Outbox rows: one message for a consumer, written in the transaction of its cause."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, string_enum

TOPIC_MAX_LENGTH = 32
ERROR_MAX_LENGTH = 500


class OutboxStatus(StrEnum):
    PENDING = "PENDING"  # waiting (again, after a failure: from `available_at`)
    DONE = "DONE"  # delivered
    DEAD = "DEAD"  # given up: failed MAIL_MAX_ATTEMPTS times, or can never succeed


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # What consumers claim: the pending messages of a topic that are due, oldest first.
        Index(
            None,
            "topic",
            "available_at",
            "id",
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index(None, "processed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(TOPIC_MAX_LENGTH))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # A stable identity of the message, whatever the attempt (an email's Message-ID).
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, server_default=func.gen_random_uuid())
    status: Mapped[OutboxStatus] = mapped_column(
        string_enum(OutboxStatus, "outbox_status"), server_default=OutboxStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX_LENGTH))
