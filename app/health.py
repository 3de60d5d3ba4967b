"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from app.core.deps import DatabaseDep
from app.core.errors import ServiceUnavailable
from app.db.session import within

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/health", tags=["health"])

READINESS_TIMEOUT_SECONDS = 2.0


@router.get("/live", summary="The process is up (never touches the database)")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The database answers: the instance can take traffic")
async def ready(database: DatabaseDep) -> dict[str, str]:
    try:
        # Answered by the deadline even when the server doesn't answer at all.
        await within(READINESS_TIMEOUT_SECONDS, database.ping())
    except Exception as error:
        # Any failure here means "not ready"; the reason goes to the log, not the prober.
        logger.warning("readiness check failed: %s", type(error).__name__)
        raise ServiceUnavailable("Database is unavailable") from error
    return {"status": "ok"}
