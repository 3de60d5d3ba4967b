"""Embedded PostgreSQL (the `pgserver` wheel) for development and tests without a server.

A real PostgreSQL server shipped inside a Python package, reached over a Unix socket. It is a
development dependency: production always points `DATABASE_URL` at a real server.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

CleanupMode = Literal["stop", "delete"]


class EmbeddedPostgres:
    """A pgserver instance. `cleanup="stop"` keeps the data, `"delete"` removes the directory
    when the last handle in this process is closed (or the process exits)."""

    def __init__(self, data_dir: Path, *, cleanup: CleanupMode = "stop") -> None:
        try:
            with warnings.catch_warnings():
                # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (CI,
                # containers) and falls back to /tmp, which is what we want.
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError as error:
            raise RuntimeError(
                "the embedded PostgreSQL needs the dev dependencies (`poetry install`), "
                "or set DATABASE_URL"
            ) from error
        data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver logs its start-up chatter at INFO; one line from us is enough.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        self._server: Any = pgserver.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode=cleanup
        )
        self.data_dir = data_dir

    @property
    def socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy/asyncpg URL of `database` on this server (Unix socket)."""
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> None:
        """Create `name` unless it exists (names are ours, never user input)."""
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}';"  # noqa: S608
        exists = self._server.psql(query)
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')

    def stop(self) -> None:
        self._server.cleanup()
