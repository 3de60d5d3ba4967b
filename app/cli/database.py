"""Which database a command works on: DATABASE_URL, or the embedded development server."""

from __future__ import annotations

import os
from pathlib import Path

from app.core.config import get_settings
from app.db.embedded import EmbeddedPostgres

EMBEDDED_DATABASE = "bookstore"
_servers: list[EmbeddedPostgres] = []  # keeps the server handle alive for the process


def resolve_database_url(*, announce: bool = True) -> str:
    """DATABASE_URL when set. Otherwise start (or join) the embedded PostgreSQL whose data
    lives in EMBEDDED_DATA_DIR, and export its URL so the app and child processes use it.
    The server stops when the last process using it exits."""
    settings = get_settings()
    if settings.database_url is not None:
        return settings.database_url
    data_dir = Path(settings.embedded_data_dir).resolve()
    server = EmbeddedPostgres(data_dir, cleanup="stop")
    _servers.append(server)
    server.create_database(EMBEDDED_DATABASE)
    url = server.url(EMBEDDED_DATABASE)
    if announce:
        print(f"DATABASE_URL is not set: using the embedded PostgreSQL, data in {data_dir}")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url
