"""Per-request context outside GraphQL: the request id (accepted from `X-Request-ID` when
sane, else generated, and echoed back), and one access-log line per request with what the
inner layers learnt (operation, error codes, user)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import INTERNAL_MESSAGE, ErrorCode, http_error_body

HEADER = b"x-request-id"
_ACCEPTABLE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("app.access")
logger = logging.getLogger(__name__)

# `/graphql` answers its own failures, in the GraphQL shape (`app.graphql.http`).
_INTERNAL_ERROR = orjson.dumps(http_error_body(INTERNAL_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR))


@dataclass(slots=True)
class RequestRecord:
    """What the access log says about a request; GraphQL layers fill in the details."""

    request_id: str
    operation: str | None = None
    error_codes: list[str] = field(default_factory=list)
    user_id: int | None = None
    status: int = 0


_current: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


def current_record() -> RequestRecord | None:
    """The record of the request handled by this task, if any."""
    return _current.get()


class RequestContextMiddleware:
    """Plain ASGI (not `BaseHTTPMiddleware`, which costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp, *, access_log: bool) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id=_incoming_id(scope) or uuid.uuid4().hex)
        token = _current.set(record)
        header = (HEADER, record.request_id.encode())
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Here the request id is still known: the log line and the response carry it.
            # Starlette's outer error middleware would answer without either (and with a
            # traceback page when debugging).
            logger.exception("unexpected error", extra={"request_id": record.request_id})
            if record.status:  # the response has begun: all that is left is to drop it
                raise
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
            ]
            await send_with_id({"type": "http.response.start", "status": 500, "headers": headers})
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            _current.reset(token)
            if self.access_log and scope["path"] not in ("/health/live", "/health/ready"):
                _log_access(scope, record, (time.perf_counter() - started) * 1000)


def _log_access(scope: Scope, record: RequestRecord, duration_ms: float) -> None:
    # Never the query text, variables or headers: they can hold passwords and tokens.
    access_logger.info(
        "%s %s %s %.1fms op=%s errors=%s user=%s",
        scope["method"],
        scope["path"],
        record.status or 500,
        duration_ms,
        record.operation or "-",
        ",".join(record.error_codes) or "-",
        record.user_id if record.user_id is not None else "-",
        extra={
            "request_id": record.request_id,
            "method": scope["method"],
            "path": scope["path"],
            "status": record.status or 500,
            "duration_ms": round(duration_ms, 2),
            "operation": record.operation,
            "error_codes": record.error_codes,
            "user_id": record.user_id,
        },
    )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode() if _ACCEPTABLE.match(value) else None
    return None


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            current = _current.get()
            record.request_id = current.request_id if current is not None else "-"
        return True
