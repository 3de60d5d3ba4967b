"""What the outbox hands to consumers, and what they answer for each message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    topic: str
    payload: dict[str, Any]
    uuid: uuid.UUID
    attempts: int  # before this one
    created_at: datetime


class Verdict(Enum):
    DONE = "done"
    RETRY = "retry"  # a passing failure: try again later, up to the attempt limit
    DEAD = "dead"  # can never succeed (refused for good, or unrenderable): don't retry


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    error: str | None = None

    @classmethod
    def done(cls) -> Outcome:
        return cls(Verdict.DONE)

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls(Verdict.RETRY, error)

    @classmethod
    def dead(cls, error: str) -> Outcome:
        return cls(Verdict.DEAD, error)
