"""Engine and session factory, wrapped in one object the app owns for its lifetime."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings


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
            # A connection that died while idle (database restart, failover) is replaced
            # instead of failing the next request: this is what makes the app recover alone.
            pool_pre_ping=True,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_args=connect_args(settings),
            # Database errors are logged; their parameters (emails, search terms) are not.
            hide_parameters=True,
        )
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
        await self.engine.dispose()


def server_settings(settings: Settings) -> dict[str, str]:
    """Session parameters the app relies on (also for `ALTER DATABASE ... SET` where a
    connection pooler doesn't pass startup parameters)."""
    return {
        # Names the app's connections in pg_stat_activity.
        "application_name": "bookstore-api",
        # A runaway query is cancelled (and answers SERVICE_UNAVAILABLE), not left hanging.
        "statement_timeout": str(settings.db_statement_timeout_ms),
        # Typo-tolerant search: "tolkein" is 0.5 word-similar to "Tolkien"; pg_trgm's
        # default threshold (0.6) would miss it. Harmless without pg_trgm.
        "pg_trgm.word_similarity_threshold": "0.45",
        # Read by the catalog-change trigger: a stock change that crosses this band
        # changes what anonymous clients see (the response cache).
        "bookstore.low_stock_threshold": str(settings.low_stock_threshold),
    }


def connect_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {"timeout": settings.db_connect_timeout_seconds}
    if settings.db_pgbouncer:
        # Transaction pooling hands each transaction to any server connection: named
        # prepared statements and startup parameters would not follow.
        args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            # asyncpg still prepares each statement, under a name; unique names keep them
            # from clashing on a server connection another client used (PgBouncer < 1.21).
            prepared_statement_name_func=lambda: f"__asyncpg_{uuid.uuid4()}__",
            # No startup parameters get through, so `statement_timeout` holds only where
            # it is set on the database; this client-side limit is the backstop.
            command_timeout=settings.db_statement_timeout_ms / 1000,
        )
    else:
        args["server_settings"] = server_settings(settings)
    return args


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: resolvers build their response from them.
    return async_sessionmaker(engine, expire_on_commit=False)


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
