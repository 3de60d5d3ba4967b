"""The response cache for anonymous reads, and its invalidation across instances.

Every instance keeps its own small LRU of response bodies. Database triggers
`pg_notify('catalog_changed')` in the transaction of any change an anonymous client could
see (catalog data, or stock crossing an availability band); PostgreSQL delivers it at
commit to every instance listening, and each one empties its cache. While an instance is
not listening (start-up, lost connection) it does not cache at all, so it never serves a
response older than the last notification it may have missed; a TTL bounds the rest
(availability changes at midnight without any write).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

CHANNEL = "catalog_changed"
_KEEPALIVE_SECONDS = 5.0
_RETRY_SECONDS = 2.0

# (content type, body) of a response.
CachedResponse = tuple[bytes, bytes]


class ResponseCache:
    def __init__(self, *, max_entries: int, ttl_seconds: float) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, CachedResponse]] = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl_seconds
        # Off until the invalidation listener is connected.
        self.active = False

    def get(self, key: Hashable) -> CachedResponse | None:
        if not self.active:
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        expires, response = found
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return response

    def put(self, key: Hashable, response: CachedResponse) -> None:
        if not self.active:
            return
        self._entries[key] = (time.monotonic() + self._ttl, response)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class CatalogChangeListener:
    """Holds a dedicated connection that LISTENs for catalog changes and clears the cache."""

    def __init__(
        self, database_url: str, cache: ResponseCache, *, timeout: float | None = None
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._cache = cache
        # Of every statement on the connection (LISTEN, the keep-alive, and asyncpg's
        # cancellation of one that timed out): a server that stops answering is noticed,
        # never waited for.
        self._timeout = timeout or _KEEPALIVE_SECONDS
        self._task: asyncio.Task[None] | None = None
        self.notifications = 0

    @property
    def listening(self) -> bool:
        """Whether changes are being heard, so that the cache is in use."""
        return self._cache.active

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="catalog-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._cache.active = False
        self._cache.clear()

    def _on_notification(self, *_: object) -> None:
        self.notifications += 1
        self._cache.clear()

    async def _run(self) -> None:
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=self._timeout, command_timeout=self._timeout
                )
                await connection.add_listener(CHANNEL, self._on_notification)
                # Whatever changed while nobody listened is unknown: start empty.
                self._cache.clear()
                self._cache.active = True
                while True:
                    await asyncio.sleep(_KEEPALIVE_SECONDS)
                    # Notices a dead connection that never said goodbye.
                    await connection.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if self._cache.active:
                    logger.warning("response cache off: lost the invalidation listener (%s)", error)
                self._cache.active = False
                self._cache.clear()
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(_RETRY_SECONDS)  # after a failure: the loop above never ends
