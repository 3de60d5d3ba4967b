"""Logging: JSON lines in production (one object per record, for log pipelines),
readable text elsewhere; every record tagged with its request id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from app.core.config import Settings
from app.core.request_context import RequestIdLogFilter

HANDLER_NAME = "bookstore"
# Fields the access log adds to its records.
_EXTRA_FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "operation",
    "error_codes",
    "user_id",
)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(
            {name: getattr(record, name) for name in _EXTRA_FIELDS if hasattr(record, name)}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    """Idempotent: the app factory runs once per worker, tests build apps repeatedly."""
    root = logging.getLogger()
    if any(handler.get_name() == HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdLogFilter())
    if settings.log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if settings.debug else logging.INFO)
