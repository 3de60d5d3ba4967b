"""The RATING order is served by its index, as PRICE is by its own: a keyset page is an
index range scan, with no sort of the matching books (the plans of the statements the API
runs, with the planner told to avoid sorts and sequential scans where it can)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from app.books.seed import seed_catalog
from app.core.config import Settings
from app.db.session import Database
from app.reviews.seed import seed_reviews
from tests.support import GraphQL, data

PAGE = """query($field: BookOrderField!, $after: String) {
  books(first: 20, after: $after, orderBy: {field: $field, direction: DESC}) {
    pageInfo { endCursor } edges { node { id } } } }"""


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, *args: Any) -> None:
        self.seen.append((str(args[2]), args[3]))


async def plan_of(database: Database, statement: str, parameters: Any) -> str:
    async with database.sessionmaker() as session:
        connection = await session.connection()
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        await connection.exec_driver_sql("SET LOCAL enable_sort = off")
        result = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        plan = "\n".join(row[0] for row in result)
        await session.rollback()
    return plan


@pytest.mark.parametrize(
    ("field", "index"), [("RATING", "ix_books_rating_id"), ("PRICE", "ix_books_price_id")]
)
async def test_a_keyset_page_is_an_index_range_scan(
    gql: GraphQL, database: Database, settings: Settings, field: str, index: str
) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=120)
        await seed_reviews(session, settings)
        await session.execute(text("ANALYZE books"))
    first = data(await gql(PAGE, {"field": field}))["books"]["pageInfo"]["endCursor"]
    recorder = Recorder()
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", recorder)
    try:
        page = data(await gql(PAGE, {"field": field, "after": first}))["books"]
    finally:
        event.remove(engine, "before_cursor_execute", recorder)
    assert len(page["edges"]) == 20
    (statement, parameters), *_ = [seen for seen in recorder.seen if "FROM books" in seen[0]]
    plan = await plan_of(database, statement, parameters)
    assert f"Index Scan Backward using {index}" in plan, plan
    assert "Sort" not in plan, plan
