"""Everything before the clock starts, through the API in-process (`create_app`, as the test
suite does): the catalog, the buyers and their carts, the data the scenarios vary over, and
how many SQL statements one request of each scenario runs."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Collection, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import orjson
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event, text

from app.books.seed import seed_catalog
from app.cli.seed import vacuum_analyze
from app.core.config import Settings
from app.db.session import Database
from app.graphql.ids import encode_id
from app.main import create_app
from app.reviews.seed import seed_reviews
from bench.client import GraphQL, StatementCounter, data
from bench.scenarios import (
    BY_PRICE,
    BY_RATING,
    SCENARIOS,
    Fixture,
    Target,
    served_by,
    workload,
)

T = TypeVar("T")
BUYERS = 50
HOT_BOOKS = 20
DETAIL_BOOKS = 100
CATALOG_PAGES = 50
CART_BOOKS = 3

_NEXT_PAGE = """query($after: String, $order: BookOrder) {
  books(first: 20, after: $after, orderBy: $order) { pageInfo { endCursor } } }"""
# Books that can go in a cart: released (the app's "today" is UTC's) and in stock.
_SELLABLE = """
SELECT id FROM books
WHERE NOT is_archived AND release_date <= (now() AT TIME ZONE 'UTC')::date
  AND stock_quantity > 0
ORDER BY id LIMIT :limit
"""
_SPREAD = "SELECT id FROM books WHERE NOT is_archived ORDER BY id"
_REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
_ADD_TO_CART = "mutation($book: ID!) { addToCart(bookId: $book, quantity: 1) { totalQuantity } }"


@asynccontextmanager
async def in_process_api(settings: Settings) -> AsyncIterator[tuple[FastAPI, GraphQL]]:
    app = create_app(settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            yield app, GraphQL(http)


async def prepare(
    settings: Settings, books: int, buyers: int, scenarios: Collection[str] = tuple(SCENARIOS)
) -> tuple[Fixture, dict[str, int], dict[str, dict[str, float]]]:
    """Seed the catalog and create the users: the fixture, the statements per request of
    `scenarios` and the latencies of those of them timed one request at a time (with the
    catalog page's, which they are stated against)."""
    timed = [name for name in SEQUENTIAL if name in scenarios]
    async with in_process_api(settings) as (app, gql):
        database: Database = app.state.database
        await seed(database, settings, books)
        fixture = await build_fixture(database, gql, buyers)
        statements = {
            scenario.name: await count_statements(database, gql, scenario.name, fixture)
            for scenario in served_by(Target.API)
            if scenario.name in scenarios
        }
        sequential = {
            name: await one_at_a_time(gql, name, fixture)
            for name in (dict.fromkeys(["catalog", *timed]) if timed else ())
        }
    if any(scenario.name in scenarios for scenario in served_by(Target.CACHED_API)):
        statements |= await count_cached_statements(settings, fixture, scenarios)
    return fixture, statements, sequential


SEQUENTIAL = ("catalog", "search", "facets", "suggestions")
SEQUENTIAL_REPEATS = 5


async def one_at_a_time(gql: GraphQL, scenario: str, fixture: Fixture) -> dict[str, float]:
    """{request's label: median ms of SEQUENTIAL_REPEATS}, each request alone (the
    targets of search are stated against a catalog page measured so)."""
    medians: dict[str, float] = {}
    for index, request in enumerate(workload(scenario, fixture, connections=1).requests):
        body: dict[str, Any] = orjson.loads(request.body)
        label = str(body["variables"].get("q", index))
        times = []
        for _ in range(SEQUENTIAL_REPEATS):
            started = time.perf_counter()
            data(await gql(body["query"], body["variables"], token=request.token))
            times.append((time.perf_counter() - started) * 1000)
        medians[label] = statistics.median(times)
    return medians


async def seed(database: Database, settings: Settings, books: int) -> None:
    async with database.sessionmaker() as session, session.begin():
        await seed_catalog(session, books=books)
        await seed_reviews(session, settings)
    # A live catalog has been vacuumed and analyzed by autovacuum: as `poetry run seed`
    # does, so that results never depend on when autovacuum runs.
    await vacuum_analyze(database)


async def build_fixture(database: Database, gql: GraphQL, buyers: int) -> Fixture:
    async with database.sessionmaker() as session:
        sellable = list(await session.scalars(text(_SELLABLE), {"limit": HOT_BOOKS + CART_BOOKS}))
        every = list(await session.scalars(text(_SPREAD)))
    hot = sellable[:HOT_BOOKS]
    step = max(1, len(every) // DETAIL_BOOKS)
    buyer_tokens = await _buyers(gql, "buyer", buyers, hot)
    warmup_buyer_tokens = await _buyers(gql, "warmup-buyer", buyers, hot)
    cart_token = await _register(gql, "cart-reader")
    await asyncio.gather(*(_add(gql, cart_token, book_id) for book_id in sellable[HOT_BOOKS:]))
    return Fixture(
        cursors=await _catalog_cursors(gql),
        rating_cursors=await _catalog_cursors(gql, BY_RATING),
        price_cursors=await _catalog_cursors(gql, BY_PRICE),
        book_ids=tuple(encode_id("Book", book_id) for book_id in every[::step][:DETAIL_BOOKS]),
        hot_books=tuple(hot),
        buyer_tokens=buyer_tokens,
        warmup_buyer_tokens=warmup_buyer_tokens,
        cart_token=cart_token,
    )


async def _catalog_cursors(
    gql: GraphQL, order: dict[str, str] | None = None
) -> tuple[str | None, ...]:
    """`after` of the first CATALOG_PAGES pages (None for the first), as a client paging
    through the catalog gets them."""
    cursors: list[str | None] = [None]
    while len(cursors) < CATALOG_PAGES:
        variables = {"after": cursors[-1], "order": order}
        after = data(await gql(_NEXT_PAGE, variables))["books"]["pageInfo"]
        if after["endCursor"] is None:
            break
        cursors.append(after["endCursor"])
    return tuple(cursors)


async def _buyers(gql: GraphQL, name: str, count: int, hot: list[int]) -> tuple[str, ...]:
    """Customers whose carts hold one copy of a hot book each (buyer i: hot book i % 20)."""
    tokens = await _bounded(_register(gql, f"{name}-{i}") for i in range(count))
    await _bounded(_add(gql, token, hot[i % len(hot)]) for i, token in enumerate(tokens))
    return tuple(tokens)


SETUP_CONCURRENCY = 5  # well under the pool's 10: on a busy machine 50 at once time out


async def _bounded(calls: Iterable[Awaitable[T]]) -> list[T]:
    """`asyncio.gather` of `calls`, SETUP_CONCURRENCY at a time."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(call: Awaitable[T]) -> T:
        async with limit:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


# Distinct per run: `bench.profile --database-url` prepares the same database again.
_RUN = uuid.uuid4().hex[:8]


async def _register(gql: GraphQL, name: str) -> str:
    variables = {
        "input": {
            "email": f"{name}-{_RUN}@bench.example.com",
            "password": "benchmark password",
            "fullName": name,
        }
    }
    token: str = data(await gql(_REGISTER, variables))["register"]["accessToken"]
    return token


async def _add(gql: GraphQL, token: str, book_id: int) -> None:
    data(await gql(_ADD_TO_CART, {"book": encode_id("Book", book_id)}, token=token))


async def count_cached_statements(
    settings: Settings, fixture: Fixture, scenarios: Collection[str]
) -> dict[str, int]:
    """SQL statements of each cached scenario's request asked for a second time."""
    cached = settings.model_copy(update={"response_cache": True})
    counts = {}
    async with in_process_api(cached) as (app, gql):
        async with asyncio.timeout(10):
            while not app.state.events.listening:  # noqa: ASYNC110 - another component
                await asyncio.sleep(0.05)
        for scenario in served_by(Target.CACHED_API):
            if scenario.name not in scenarios:
                continue
            await count_statements(app.state.database, gql, scenario.name, fixture)
            counts[scenario.name] = await count_statements(
                app.state.database, gql, scenario.name, fixture
            )
    return counts


async def count_statements(
    database: Database, gql: GraphQL, scenario: str, fixture: Fixture
) -> int:
    """SQL statements of the scenario's first request (the way the suite counts them)."""
    request = workload(scenario, fixture, connections=1).requests[0]
    body: dict[str, Any] = orjson.loads(request.with_key(f"statements-{uuid.uuid4().hex}"))
    counter = StatementCounter()
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        data(await gql(body["query"], body["variables"], token=request.token))
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return counter.count
