"""Engine and session factory, wrapped in one object the app owns for its lifetime."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from app.core.config import Settings

T = TypeVar("T")

# How much longer than DB_STATEMENT_TIMEOUT_MS the client waits: the server's own timeout
# fires first while it answers (a clean cancel), the client's when it doesn't.
CLIENT_TIMEOUT_MARGIN_SECONDS = 1.0
# A pooled connection back in use within this long is not pinged first (HikariCP's
# "alive bypass window"): a busy pool would otherwise pay two round trips (the ping's
# BEGIN and ROLLBACK) on every checkout.
PING_AFTER_IDLE_SECONDS = 1.0


def client_timeout(settings: Settings) -> float | None:
    """The client-side deadline of a statement, and of a request's database work as a
    whole (None: no statement timeout configured)."""
    if not settings.db_statement_timeout_ms:
        return None
    return settings.db_statement_timeout_ms / 1000 + CLIENT_TIMEOUT_MARGIN_SECONDS


@dataclass(frozen=True, slots=True)
class DatabaseFeatures:
    """Optional server capabilities, detected once at start-up."""

    trigram: bool = False


class Database:
    """The engine (connection pool) and the session factory built on it.

    Tests build one bound to a single connection inside an outer transaction
    (`Database.bound_to`), so every request of a test is rolled back at its end.
    """

    def __init__(self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]):
        self.engine = engine
        self.sessionmaker = sessionmaker

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> Database:
        url = url or settings.database_url
        if url is None:
            raise RuntimeError("DATABASE_URL is not configured")
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_args=connect_args(settings),
            # Database errors are logged; their parameters (emails, search terms) are not.
            hide_parameters=True,
        )
        ping_when_idle(engine)
        return cls(engine, make_sessionmaker(engine))

    @classmethod
    def bound_to(cls, connection: AsyncConnection) -> Database:
        """Sessions that join `connection`'s open transaction through savepoints."""
        sessionmaker = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        return cls(connection.engine, sessionmaker)

    async def ping(self) -> None:
        """Round-trip to the server; raises when it is unreachable."""
        async with self.sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    async def has_extension(self, name: str) -> bool:
        async with self.sessionmaker() as session:
            found = await session.scalar(
                text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": name}
            )
        return found is not None

    async def dispose(self) -> None:
        await settle_abandoned()
        await self.engine.dispose()


def ping_when_idle(engine: AsyncEngine) -> None:
    """A connection that died while idle (database restart, failover) is replaced instead
    of failing the next request: this is what makes the app recover alone. Pinged at
    checkout once idle for PING_AFTER_IDLE_SECONDS; one that died in use makes SQLAlchemy
    replace every connection of the pool (a disconnect invalidates it)."""

    def checked_in(_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(
        connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            connection.ping()
        except Exception as error:
            # The pool retries with a new connection.
            raise sa_exc.DisconnectionError() from error

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


def server_settings(settings: Settings) -> dict[str, str]:
    """Session parameters the app relies on (also for `ALTER DATABASE ... SET` where a
    connection pooler doesn't pass startup parameters)."""
    return {
        # Names the app's connections in pg_stat_activity.
        "application_name": "bookstore-api",
        # A runaway query is cancelled (and answers SERVICE_UNAVAILABLE), not left hanging.
        "statement_timeout": str(settings.db_statement_timeout_ms),
        # Short statements only: starting parallel workers costs more than the bounded
        # reads of a request (measured at a million books: 80 ms of worker start-up for a
        # search plan whose parallel part never ran).
        "max_parallel_workers_per_gather": "0",
        # Nor compiling a plan: JIT starts above a plan's estimated cost, and a generic
        # plan of a prepared search (estimated without its LIMITs' words) is past it;
        # compiling it cost 80 ms for a statement that runs in 5.
        "jit": "off",
        # Read by the catalog-change trigger: a stock change that crosses this band
        # changes what anonymous clients see (the response cache).
        "bookstore.low_stock_threshold": str(settings.low_stock_threshold),
    }


def connect_args(settings: Settings) -> dict[str, Any]:
    # `command_timeout`: every statement (BEGIN, COMMIT, ROLLBACK and the pool's pre-ping
    # too) ends within the client timeout whatever the server does, and so does asyncpg's
    # cancellation of one that timed out; a connection left in doubt is closed.
    args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": client_timeout(settings),
    }
    if settings.db_pgbouncer:
        # Transaction pooling hands each transaction to any server connection: named
        # prepared statements and startup parameters would not follow.
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            # asyncpg still prepares each statement, under a name; unique names keep them
            # from clashing on a server connection another client used (PgBouncer < 1.21).
            prepared_statement_name_func=lambda: f"__asyncpg_{uuid.uuid4()}__",
        )
        # No startup parameters get through, so `statement_timeout` holds only where it is
        # set on the database; `command_timeout` is the backstop.
    else:
        args["server_settings"] = server_settings(settings)
    return args


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: resolvers build their response from them.
    return async_sessionmaker(engine, expire_on_commit=False)


class DeadlinePassed(TimeoutError):
    """Work ran past its deadline: it was cancelled, and the caller answers at once."""


# Cancelled work still giving its connections back (see `within`).
_abandoned: set[asyncio.Task[Any]] = set()


async def within(seconds: float | None, work: Coroutine[Any, Any, T]) -> T:
    """What `work` returns, unless `seconds` pass first: then it is cancelled and
    DeadlinePassed raised at once. The cancelled work's clean-up (rolling back, handing its
    connections back or closing them) can take up to a statement timeout more when the
    server doesn't answer; it finishes behind the answer, and `Database.dispose` waits for
    it."""
    if seconds is None:
        return await work
    task = asyncio.create_task(work)
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            # Shielded: the deadline stops the wait, not (yet) the work.
            return await asyncio.shield(task)
    except TimeoutError:
        if not deadline.expired():
            raise  # the work's own
        if task.done() and not task.cancelled():
            return task.result()  # finished at the very last moment
    except asyncio.CancelledError:
        task.cancel()  # the caller is being cancelled (shutdown, a client gone)
        raise
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_forget)
    raise DeadlinePassed


def _forget(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # what it raised while cancelled: retrieved, not worth a warning


async def settle_abandoned() -> None:
    """Wait for the clean-up of work abandoned at its deadline (bounded by the timeouts)."""
    if _abandoned:
        await asyncio.wait(set(_abandoned))


# Failures that mean "the database is not there right now" rather than "the code is wrong".
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    sa_exc.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether `error` (or what it wraps) is a connectivity/timeout failure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE_ERRORS):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        original: Any = getattr(current, "orig", None)
        current = original if isinstance(original, BaseException) else current.__cause__
    return False
