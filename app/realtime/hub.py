"""The event hub: one LISTEN connection per worker, whatever the number of subscribers.

Database triggers `pg_notify` ids only, in the transaction of the change; PostgreSQL
delivers the notifications at commit, in commit order, to every instance listening. The
hub hears two channels on one connection: `catalog_changed` (the response cache empties)
and `bookstore_events` (GraphQL subscriptions, and the connections of a session that
ended). A subscriber watches topics (`("book", 12)`, `("orders_of", 7)`, ...) and gets each
`Notice` on them; what it may see of the object it then reads itself.

The connection obeys the client-side deadlines: every statement on it (LISTEN, the
keep-alive) ends within the statement timeout whatever the server does, so a database that
stops answering is given up on and listened to again on a new connection. While nobody
listens (start-up, a lost connection) notifications are missed: delivery is at most once,
and subscribers who reconnect re-read the current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

CATALOG_CHANNEL = "catalog_changed"
EVENTS_CHANNEL = "bookstore_events"
KEEPALIVE_SECONDS = 5.0
# The listening connection's name in pg_stat_activity.
LISTENER_NAME = "bookstore-api-listen"
_RETRY_SECONDS = 2.0

Topic = tuple[str, Hashable]
Watcher = Callable[["Notice"], None]


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Notice:
    """One notification, shared by every subscriber it reaches. `kind`: b (book), o
    (order), p (prebook), c (cart), s (session), u (user); `ids` as the trigger sent them.
    `shared()` lets the subscribers of one notice read public data once between them."""

    __slots__ = ("_shared", "ids", "kind", "renderings")

    def __init__(self, kind: str, ids: tuple[Any, ...]) -> None:
        self.kind = kind
        self.ids = ids
        self._shared: dict[str, asyncio.Future[Any]] = {}
        # The messages of this notice's event as anonymous subscribers receive it, by
        # document and variables: rendered once for all of them.
        self.renderings: dict[Hashable, asyncio.Future[str | None]] = {}

    def shared(self, name: str, load: Callable[[], Any]) -> asyncio.Future[Any]:
        """The one task loading `name` for this notice (started by the first who asks)."""
        found = self._shared.get(name)
        if found is None:
            found = self._shared[name] = asyncio.ensure_future(load())
        return found

    def topics(self) -> tuple[Topic, ...]:
        kind, ids = self.kind, self.ids
        if kind == "b":
            return (("book", ids[0]),)
        if kind == "o":
            return (("orders_of", ids[1]), ("orders", None))
        if kind == "p":
            return (("prebooks_of", ids[1]), ("prebook_queue", ids[2]))
        if kind == "c":
            topics: tuple[Topic, ...] = (("cart", ids[0]),)
            return (*topics, ("cart_of", ids[1])) if ids[1] is not None else topics
        if kind == "s":
            return (("session", ids[0]),)
        if kind == "u":
            return (("user", ids[0]),)
        return ()


def parse(payload: str) -> Notice | None:
    """The notice of a `bookstore_events` payload (None for one this version doesn't know)."""
    kind, _, rest = payload.partition(":")
    parts = rest.split(":")
    try:
        if kind == "s":
            return Notice(kind, (uuid.UUID(rest),))
        if kind == "c":
            return Notice(kind, (int(parts[0]), int(parts[1]) if parts[1] else None))
        if kind in ("b", "o", "p", "u"):
            return Notice(kind, tuple(int(part) for part in parts))
    except (ValueError, IndexError):
        pass
    logger.warning("ignoring an event notification of an unknown shape")
    return None


class Inbox:
    """A subscription's queue of notices. Bounded: a subscriber that doesn't keep up loses
    the oldest (each event carries the current state, so the newest is what matters)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self, size: int = 32) -> None:
        self._items: deque[Notice] = deque(maxlen=size)
        self._waiter: asyncio.Future[None] | None = None

    def put(self, notice: Notice) -> None:
        if self._items and self._items[-1] is notice:
            return  # the same notice through two of the subscription's topics
        self._items.append(notice)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Notice:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


def _ended(lost: asyncio.Event, _connection: object) -> None:
    lost.set()


class EventHub:
    """Holds the worker's listening connection and hands notices to the watchers of their
    topics (see the module docstring)."""

    def __init__(self, database_url: str | None, *, timeout: float | None = None) -> None:
        self._dsn = asyncpg_dsn(database_url) if database_url else None
        # Of every statement on the connection (LISTEN, the keep-alive, and asyncpg's
        # cancellation of one that timed out): a server that stops answering is noticed,
        # never waited for.
        self._timeout = timeout or KEEPALIVE_SECONDS
        self._task: asyncio.Task[None] | None = None
        self._watchers: dict[Topic, set[Watcher]] = {}
        self._catalog: list[Callable[[], None]] = []
        self._notices: list[Watcher] = []
        self._state: list[Callable[[bool], None]] = []
        self.listening = False
        self.notifications = 0
        self.connections = 0  # listening connections opened so far (one at a time)

    # -- who hears what ---------------------------------------------------------------------

    def on_catalog_change(self, callback: Callable[[], None]) -> None:
        self._catalog.append(callback)

    def on_notice(self, callback: Watcher) -> None:
        """`callback(notice)` for every event notice, before its topics' watchers."""
        self._notices.append(callback)

    def on_listening(self, callback: Callable[[bool], None]) -> None:
        """`callback(listening)` whenever the hub starts or stops hearing notifications."""
        self._state.append(callback)

    def watch(self, topic: Topic, watcher: Watcher) -> None:
        self._watchers.setdefault(topic, set()).add(watcher)

    def unwatch(self, topic: Topic, watcher: Watcher) -> None:
        watchers = self._watchers.get(topic)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[topic]

    def watchers(self, topic: Topic) -> int:
        return len(self._watchers.get(topic, ()))

    def publish(self, notice: Notice) -> None:
        for topic in notice.topics():
            for watcher in tuple(self._watchers.get(topic, ())):
                try:
                    watcher(notice)
                except Exception:
                    logger.exception("an event watcher failed")

    # -- the listening connection -----------------------------------------------------------

    def start(self) -> None:
        if self._dsn is None:
            logger.warning(
                "no LISTEN/NOTIFY: subscriptions get no events and the response cache is off "
                "(behind PgBouncer, set DATABASE_LISTEN_URL)"
            )
            return
        self._task = asyncio.create_task(self._run(self._dsn), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._set_listening(False)

    def _set_listening(self, listening: bool) -> None:
        if listening == self.listening:
            return
        self.listening = listening
        for callback in self._state:
            callback(listening)

    def _on_catalog(self, *_: object) -> None:
        self.notifications += 1
        for callback in self._catalog:
            callback()

    def _on_event(self, _connection: Any, _pid: int, _channel: str, payload: object) -> None:
        self.notifications += 1
        notice = parse(str(payload))
        if notice is not None:
            for callback in self._notices:
                callback(notice)
            self.publish(notice)

    async def _run(self, dsn: str) -> None:
        retry = 0.0  # a connection that was listening is replaced at once
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(
                    dsn,
                    timeout=self._timeout,
                    command_timeout=self._timeout,
                    server_settings={"application_name": LISTENER_NAME},
                )
                self.connections += 1
                lost = asyncio.Event()
                # A server that ends the connection (restart, failover) says so: heard at
                # once rather than at the next keep-alive.
                connection.add_termination_listener(partial(_ended, lost))
                await connection.add_listener(CATALOG_CHANNEL, self._on_catalog)
                await connection.add_listener(EVENTS_CHANNEL, self._on_event)
                self._set_listening(True)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), KEEPALIVE_SECONDS)
                    if not lost.is_set():
                        # Notices a dead connection that never said goodbye, and a frozen
                        # server (the statement's deadline).
                        await connection.execute("SELECT 1")
                logger.warning("the database ended the LISTEN connection; reconnecting")
                self._set_listening(False)
                retry = 0.0
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if self.listening:
                    logger.warning("lost the LISTEN connection (%s); reconnecting", error)
                    retry = 0.0
                else:
                    retry = _RETRY_SECONDS
                self._set_listening(False)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(retry)  # after a failure: the loop above never ends
