"""`poetry run serve`: the production server (uvicorn, uvloop + httptools, no reload)."""

from __future__ import annotations

import argparse
import os

import uvicorn

from app.cli.server_options import SERVER_OPTIONS
from app.core.config import get_settings
from app.core.logging import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="serve", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    args = parser.parse_args(argv)
    # Uvicorn's own lines (start, stop, errors) go through the app's logging too: JSON in
    # production, like the access lines, instead of uvicorn's plain-text defaults.
    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(
        "app.main:create_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
        log_config=None,
        # A WebSocket message is held to the size of an HTTP request body (uvicorn's own
        # limit is 16 MiB): a larger one closes the socket with 1009.
        ws_max_size=settings.max_request_body_bytes,
        **SERVER_OPTIONS,
    )
