"""Where a catalog page's CPU time goes: the profile behind the benchmark's catalog row.

    poetry run python -m bench.breakdown [--books 10000] [--repeat 1000]

Seeds its own database (dropped at the end) and times, in this one process (no HTTP
server, no load generator: CPU time, not latency), the benchmark's first catalog page
through each layer, from the whole app down to the floor's single asyncpg statement:

- the app through ASGI, regular GraphQL execution (CATALOG_FAST_PATH=false);
- the app through ASGI with the fast path, then the fast path alone;
- the data access the fast path shares with the `books` resolver, phase by phase;
- the floor's statement and rendering (bench/floor.py).

Each figure is the best of three rounds of `--repeat` calls, in ms per call.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import uvloop
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from app.books import service as books_service
from app.books.repository import Related
from app.books.types import Book
from app.core.config import Settings
from app.core.paging import PageArgs
from app.db.session import Database
from app.graphql.connection import Connection
from app.main import create_app
from bench import floor
from bench.database import bench_database, configured_server, plain_dsn, postgres_server
from bench.prepare import seed
from bench.run import app_settings, quiet_in_process_app
from bench.scenarios import CATALOG_QUERY

Call = Callable[[], Awaitable[Any]]
RELATED = Related(authors=True, genres=True)


def best_ms(repeat: int) -> Callable[[Call], Awaitable[float]]:
    async def measure(call: Call) -> float:
        for _ in range(repeat // 5):  # warm-up
            await call()
        rounds = []
        for _ in range(3):
            started = time.process_time()
            for _ in range(repeat):
                await call()
            rounds.append((time.process_time() - started) * 1000 / repeat)
        return min(rounds)

    return measure


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with LifespanManager(app):
        yield app


def asgi_call(app: FastAPI, body: bytes, token: str | None = None) -> Call:
    """One POST /graphql through the whole ASGI stack, as uvicorn would make it."""
    headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
    headers.append((b"content-length", str(len(body)).encode()))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def call() -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        statuses = []

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(dict(scope), receive, send)
        assert statuses == [200], statuses

    return call


async def phases(settings: Settings, database: Database, repeat: int) -> dict[str, float]:
    """The catalog page's data access, timed phase by phase (CPU ms per page)."""
    spent: dict[str, float] = defaultdict(float)
    clock = [time.process_time()]

    def lap(name: str) -> None:
        now = time.process_time()
        spent[name] += now - clock[0]
        clock[0] = now

    async def page() -> None:
        lap("")
        listing = books_service.plan_listing(
            filters=None, order=None, args=PageArgs(20), is_admin=False
        )
        stock = books_service.stock_context(settings)
        lap("plan the listing")
        async with database.sessionmaker() as session:
            rows = await books_service.list_books(session, listing, stock, RELATED)
            lap("books statement, authors and genres (run, rows, cursors)")
        lap("session close (back to the pool)")
        nodes = [Book.from_row(i.row, authors=i.authors, genres=i.genres) for i in rows.items]
        Connection.from_page(rows, nodes, None)
        lap("Book objects and the connection")

    for _ in range(repeat // 5):
        await page()
    spent.clear()
    for _ in range(repeat):
        await page()
    return {name: seconds * 1000 / repeat for name, seconds in spent.items() if name}


async def breakdown(books: int, repeat: int) -> list[tuple[str, float]]:
    measure = best_ms(repeat)
    body = orjson.dumps({"query": CATALOG_QUERY, "variables": {"after": None}})
    async with (
        postgres_server(configured_server()) as server_url,
        bench_database(server_url) as url,
    ):
        settings = app_settings(secrets.token_urlsafe(48), url).model_copy(
            update={"access_log": False}
        )
        async with started(settings) as app:
            print(f"Seeding {books:,} books ...", flush=True)
            await seed(app.state.database, settings, books)
            results = [("whole app, fast path", await measure(asgi_call(app, body)))]
            view, database = app.state.graphql, app.state.database
            request = orjson.loads(body)

            async def respond() -> None:
                operation = view.documents.get(request["query"]).operation(None)
                result = await view.fast_path.execute(
                    operation,
                    request["variables"],
                    database=database,
                    features=app.state.features,
                    wants_cost=False,
                )
                orjson.dumps({"data": result.data})

            results.append(("  the fast path's part", await measure(respond)))
            for name, ms in (await phases(settings, database, repeat)).items():
                results.append((f"    {name}", ms))
        regular = settings.model_copy(update={"catalog_fast_path": False})
        async with started(regular) as app:
            results.insert(0, ("whole app, regular execution", await measure(asgi_call(app, body))))
        pool = await asyncpg.create_pool(plain_dsn(url), min_size=1, max_size=1)
        try:

            async def floor_page() -> None:
                floor.render(await pool.fetch(floor.FIRST_PAGE))

            results.append(("floor: one asyncpg statement + render", await measure(floor_page)))
        finally:
            await pool.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="breakdown", description=__doc__.split("\n\n")[0])
    parser.add_argument("--books", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args(argv)
    quiet_in_process_app()
    results = uvloop.run(breakdown(args.books, args.repeat))
    width = max(len(name) for name, _ in results)
    print(f"\nCPU ms per catalog page (best of 3 x {args.repeat}):")
    for name, ms in results:
        print(f"{name:<{width}}  {ms:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
