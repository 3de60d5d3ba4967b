"""Hot read statements, run on the request's asyncpg connection without SQLAlchemy's
execution machinery.

A small read costs far more in SQLAlchemy (cache-key generation, execution context,
parameter and result processing, ORM rows) than on the wire. The hot reads of a request
(the catalog page, a cart, a book) are therefore written once as SQL text with `$n`
parameters, fixed at import time, and run here: asyncpg prepares each text once per
connection and keeps it in its statement cache, so a request only binds and executes.

Mostly reads. A statement run here before the session's first SQLAlchemy statement runs
outside a transaction (the asyncpg dialect begins lazily), which is harmless for one
snapshot read under READ COMMITTED and saves the BEGIN/ROLLBACK round trips of a read-only
request. Writes go through `write`, which begins the session's transaction first when
nothing has yet, so that they commit or roll back with it.

The session's connection still fires `before_cursor_execute` for each statement, so the
statement counters of the tests and the bench (and any other listener) see these too.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Where `session.info` keeps the connection of the session's current transaction.
_HELD = "app.db.statements.connection"


async def _connection(session: AsyncSession) -> tuple[AsyncConnection, PoolProxiedConnection]:
    """The session's connection (beginning the session's transaction if none is open) and
    its pooled DBAPI connection. Asking the session costs a greenlet switch and its
    transaction bookkeeping on every statement, so the pair is remembered for as long as
    the session's transaction is the one it was got in (a commit or a rollback ends it:
    the connection may go back to the pool then). Once the transaction failed (it waits for
    its rollback) or the connection was invalidated, the session is asked again, and says so
    as it does for its own statements."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HELD)
    if (
        held is not None
        and transaction is not None
        and held[0] is transaction
        and transaction.is_active
        and not held[1].invalidated
    ):
        return held[1], held[2]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    session.info[_HELD] = (session.sync_session.get_transaction(), connection, raw)
    return connection, raw


async def _run(
    session: AsyncSession, method: str, sql: str, args: tuple[Any, ...], *, begin: bool = False
) -> Any:
    """`method` ("fetch", "fetchrow", "fetchval") of the session's asyncpg connection."""
    connection, raw = await _connection(session)
    sync_connection = connection.sync_connection
    assert sync_connection is not None
    if sync_connection.dispatch.before_cursor_execute:
        sync_connection.dispatch.before_cursor_execute(
            sync_connection, None, sql, args, None, False
        )
    driver = raw.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    try:
        if begin:
            # The asyncpg dialect begins on its first statement; a write run here first
            # begins it here, so that the session's commit or rollback ends it.
            adapted: Any = raw.dbapi_connection
            if adapted._transaction is None:
                await adapted._start_transaction()
        return await getattr(driver, method)(sql, *args)
    except Exception as error:
        if driver.is_closed():
            session.info.pop(_HELD, None)
            # What SQLAlchemy does on a disconnect it sees: the pool's connections are
            # replaced (they most likely died too), this one first. Otherwise the pool
            # would hand the dead connection out again, and the pre-ping only tries one
            # idle for a second.
            sync_connection.engine.pool._invalidate(raw, error, _checkin=False)
            await connection.invalidate(error)
        raise


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """All rows of the read `sql` with parameters `args`."""
    rows: list[asyncpg.Record] = await _run(session, "fetch", sql, args)
    return rows


async def fetchrow(session: AsyncSession, sql: str, *args: Any) -> asyncpg.Record | None:
    """The first row of the read `sql`, or None."""
    row: asyncpg.Record | None = await _run(session, "fetchrow", sql, args)
    return row


async def fetchval(session: AsyncSession, sql: str, *args: Any) -> Any:
    """The first column of the first row of the read `sql`, or None."""
    return await _run(session, "fetchval", sql, args)


async def write(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    """The rows the statement `sql` returns (a write, or a read that locks), run in the
    session's transaction."""
    rows: list[asyncpg.Record] = await _run(session, "fetch", sql, args, begin=True)
    return rows


_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
# A named parameter: not the second colon of a cast, nor inside a word.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def literal_sql(statement: ClauseElement) -> str:
    """The statement's SQL text with its values written in (constants only: nothing a
    request sends), to embed in a statement written as text."""
    return str(statement.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


@dataclass(frozen=True)
class Prepared:
    """A read built with SQLAlchemy expressions and named `bindparam`s, compiled once to its
    SQL text with `$n` parameters: it keeps the one definition the session's statements
    use. `args` orders a request's values (as asyncpg takes them) by those names; the
    statement's own literals fill the rest."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]

    @classmethod
    def of(cls, statement: ClauseElement, *, per_request: Collection[str] = ()) -> Prepared:
        """`per_request`: parameters built with the values of the request that compiled the
        statement (a search's words): not kept, so a later request must give its own."""
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        constants = {
            name: binds[name].value
            for name in names
            if not binds[name].required and name not in per_request
        }
        return cls(compiled.string, names, constants)

    @classmethod
    def named(cls, sql: str, names: tuple[str, ...]) -> Prepared:
        """SQL text written with named parameters (`:name`, casts `::type` as usual), numbered
        `$n` in order of first appearance: a fragment compiled elsewhere can then name the
        parameters it shares with the statement that embeds it, instead of their positions.
        `names` are all the statement's parameters, checked against the text (a name in one
        and not in the other fails as the statement is built, never binds a wrong value)."""
        positions: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            return f"${positions.setdefault(match[1], len(positions) + 1)}"

        numbered = _NAMED.sub(number, sql)
        if set(positions) != set(names):
            raise ValueError(f"parameters {sorted(positions)} are not {sorted(names)}")
        return cls(numbered, tuple(positions), {})

    def args(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        constants = self.constants
        return tuple(values[n] if n in values else constants[n] for n in self.names)


class Shapes(Generic[K, V]):
    """What is built once per shape of request (compiled statements, orderings), for at most
    `size` shapes, the least recently used dropped first: where client input chooses the
    shape, new shapes keep coming, and the ones a storefront sends stay."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[K, V] = OrderedDict()

    def get(self, shape: K, build: Callable[[], V]) -> V:
        kept = self._kept
        value = kept.get(shape)
        if value is None:
            value = kept[shape] = build()
            while len(kept) > self.size:
                kept.popitem(last=False)
        else:
            kept.move_to_end(shape)
        return value

    def __len__(self) -> int:
        return len(self._kept)

    def __iter__(self) -> Iterator[K]:
        """The shapes kept, the least recently used first."""
        return iter(self._kept)

    def __contains__(self, shape: object) -> bool:
        return shape in self._kept

    def clear(self) -> None:
        self._kept.clear()
