"""The request context's session: shared by concurrently resolving fields, closed safely."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.graphql.context import Context

pytestmark = pytest.mark.committing  # real pooled connections


def new_context(app: FastAPI) -> Context:
    return Context(database=app.state.database, settings=app.state.settings)


async def test_closing_waits_for_a_statement_still_running(app: FastAPI) -> None:
    """When a field error nulls a parent, GraphQL answers without waiting for the parent's
    other fields; the request then closes its session while one of them may still be
    running a statement on it. Closing must wait for it, not break the connection."""
    context = new_context(app)
    started = asyncio.Event()

    async def abandoned_sibling() -> int:
        async with context.session() as session:
            started.set()
            value = await session.scalar(text("SELECT 42 FROM pg_sleep(0.3)"))
            return int(value or 0)

    sibling = asyncio.create_task(abandoned_sibling())
    await started.wait()
    await context.close()  # the response has gone out; cleanup runs
    assert sibling.done()
    assert await sibling == 42  # it finished its statement first
    with pytest.raises(RuntimeError, match="request is over"):
        async with context.session():
            pass  # a late resolver can't resurrect the session
    assert app.state.database.engine.pool.checkedout() == 0


async def test_sibling_fields_take_turns_on_the_session(app: FastAPI) -> None:
    context = new_context(app)

    async def read(n: int) -> int:
        async with context.session() as session:
            statement = text("SELECT CAST(:n AS int) FROM pg_sleep(0.02)")
            return int(await session.scalar(statement, {"n": n}) or 0)

    assert await asyncio.gather(*(read(n) for n in range(10))) == list(range(10))
    await context.close()


async def test_reusing_the_session_inside_itself_fails_fast(app: FastAPI) -> None:
    context = new_context(app)
    async with context.session():
        with pytest.raises(RuntimeError, match="already in use"):
            async with context.session():
                pass
    await context.close()
