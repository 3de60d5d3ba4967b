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

import logging
import time
from collections import OrderedDict
from collections.abc import Hashable

from app.realtime.hub import EventHub

logger = logging.getLogger(__name__)

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


def invalidated_by(cache: ResponseCache, events: EventHub) -> None:
    """The cache empties on every catalog change the hub hears, and is in use only while
    the hub listens: whatever changed while nobody listened is unknown."""

    def listening(on: bool) -> None:
        cache.clear()
        cache.active = on

    events.on_catalog_change(cache.clear)
    events.on_listening(listening)
