"""Reads run on the asyncpg connection directly (`app.db.statements`)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from app.books.models import Genre
from app.db import statements as sql
from app.db.session import Database
from bench.client import StatementCounter


async def test_reads_see_the_session_transaction_and_are_counted(
    database: Database, statements: StatementCounter
) -> None:
    async with database.sessionmaker() as session:
        await session.execute(text("CREATE TEMP TABLE probe (n int) ON COMMIT DROP"))
        await session.execute(text("INSERT INTO probe VALUES (1), (2)"))
        statements.statements.clear()

        rows = await sql.fetch(session, "SELECT n FROM probe WHERE n >= $1 ORDER BY n", 1)
        row = await sql.fetchrow(session, "SELECT n FROM probe WHERE n = $1", 2)
        value = await sql.fetchval(session, "SELECT count(*) FROM probe")

    assert [r["n"] for r in rows] == [1, 2]
    assert row is not None and row["n"] == 2
    assert value == 2
    assert statements.count == 3
    assert statements.statements[0].startswith("SELECT n FROM probe")


async def test_a_failed_transaction_refuses_statements_until_rolled_back(
    database: Database,
) -> None:
    """After a flush fails, the session's transaction waits for its rollback: a direct
    statement is refused as the session's own are, rather than run on a transaction the
    session already gave up (its write would be answered, then silently dropped)."""
    async with database.sessionmaker() as session:
        await sql.write(session, "INSERT INTO genres (name, slug) VALUES ('Probe', 'probe')")
        session.add(Genre(name="Probe", slug="probe"))
        with pytest.raises(IntegrityError):
            await session.flush()
        with pytest.raises(PendingRollbackError):
            await sql.write(session, "INSERT INTO genres (name, slug) VALUES ('P2', 'p2')")
        await session.rollback()
        assert await sql.fetchval(session, "SELECT count(*) FROM genres WHERE slug LIKE 'p%'") == 0
