"""The worker's cache of checked access tokens: authentication without a round trip per
request.

An access token is a signed JWT, but the user and the sign-in session it names are read
on every request, so that logout, logoutAll, a password change, refresh-token reuse and a
deactivated or demoted account stop it at once. That read is the first statement of every
authenticated request. Here a token that passed it is remembered for a few seconds
(ACCESS_CACHE_TTL_SECONDS) with the viewer it stood for, and the signature isn't checked
again either.

"At once" holds across instances through the event hub (`app.realtime.hub`): the
database triggers notify `s:<session>` when a session's token is revoked (rotation
included) and `u:<user>` when an account's access changes (active, role, verified email);
every worker drops the entries concerned when it hears them. A request that read the
database while such a notice arrived doesn't store its (maybe older) answer. While the hub
doesn't listen (start-up, a lost connection, PgBouncer without DATABASE_LISTEN_URL) a
missed notice can't be told, so the cache is emptied and not used: every request checks
the database, as before (the response cache does the same).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from typing import TypeVar

from app.realtime.hub import EventHub, Notice
from app.users.schemas import Viewer

K = TypeVar("K")


class AccessCache:
    def __init__(self, *, ttl_seconds: float, max_entries: int) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        # token -> (viewer, monotonic deadline); oldest first.
        self._entries: OrderedDict[str, tuple[Viewer, float]] = OrderedDict()
        self._by_session: dict[uuid.UUID, set[str]] = {}
        self._by_user: dict[int, set[str]] = {}
        # Bumped by every drop: an answer read before one may be stale (`put`).
        self.generation = 0
        self.active = False

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Viewer | None:
        """The viewer `token` stood for at its last check, while that is fresh."""
        if not self.active:
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        viewer, deadline = entry
        if time.monotonic() >= deadline:
            self._remove(token)
            return None
        return viewer

    def put(self, token: str, viewer: Viewer, *, generation: int, expires_at: float) -> None:
        """Remember a check that began at `generation` (nothing, if a drop came since) until
        the TTL or the token's own expiry (`expires_at`, epoch seconds), whichever is first."""
        if not self.active or generation != self.generation:
            return
        lifetime = min(self.ttl, expires_at - time.time())
        if lifetime <= 0:
            return
        self._remove(token)
        self._entries[token] = (viewer, time.monotonic() + lifetime)
        self._by_user.setdefault(viewer.id, set()).add(token)
        if viewer.session_id is not None:
            self._by_session.setdefault(viewer.session_id, set()).add(token)
        while len(self._entries) > self.max_entries:
            self._remove(next(iter(self._entries)))

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_session.clear()
        self._by_user.clear()

    def heard(self, notice: Notice) -> None:
        """A session ended (or rotated) or an account's access changed somewhere."""
        if notice.kind == "s":
            tokens = self._by_session.get(notice.ids[0])
        elif notice.kind == "u":
            tokens = self._by_user.get(notice.ids[0])
        else:
            return
        self.generation += 1
        for token in tuple(tokens or ()):
            self._remove(token)

    def follow(self, events: EventHub) -> None:
        """Drop entries as the hub's notices come; in use only while it listens."""
        events.on_notice(self.heard)
        events.on_listening(self.listening)

    def listening(self, on: bool) -> None:
        self.clear()
        self.active = on

    def _remove(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is None:
            return
        viewer = entry[0]
        _discard(self._by_user, viewer.id, token)
        if viewer.session_id is not None:
            _discard(self._by_session, viewer.session_id, token)


def _discard(index: dict[K, set[str]], key: K, token: str) -> None:
    tokens = index.get(key)
    if tokens is not None:
        tokens.discard(token)
        if not tokens:
            del index[key]
