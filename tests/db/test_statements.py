"""Reads run on the asyncpg connection directly (`app.db.statements`)."""

from __future__ import annotations

from sqlalchemy import text

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
