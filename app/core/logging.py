"""Logging setup: one handler on the root logger, every record tagged with its request id."""

from __future__ import annotations

import logging

from app.core.config import Settings
from app.core.request_id import RequestIdLogFilter

HANDLER_NAME = "bookstore"


def configure_logging(settings: Settings) -> None:
    """Idempotent: the app factory runs once per worker, tests build apps repeatedly."""
    root = logging.getLogger()
    if any(handler.get_name() == HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if settings.debug else logging.INFO)
