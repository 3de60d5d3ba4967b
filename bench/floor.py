"""The floor: the catalog page served as cheaply as this stack allows.

A bare ASGI app on the same server (uvicorn, uvloop, httptools) answering the catalog
query's variables with one prepared SQL statement through an asyncpg pool, and rendering
the very bytes the API sends (orjson, compact). No GraphQL, no ORM, no framework: the gap
between this and the API is what those cost. It never runs in production and depends on
nothing in `app/` but the server options; the benchmark checks at start-up that its pages
equal the API's.

    FLOOR_DATABASE_URL=postgresql://... python -m bench.floor --port 8001
"""

from __future__ import annotations

import argparse
import base64
import os
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import uvicorn

from app.cli.server_options import SERVER_OPTIONS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PAGE_SIZE = 20
ORDERING = "CREATED_AT:DESC"  # the API's default order, named as in its cursors
_PAGE = """
SELECT b.id, b.title, b.price, b.created_at,
       ARRAY(SELECT ROW(a.id, a.name) FROM book_authors ba JOIN authors a ON a.id = ba.author_id
             WHERE ba.book_id = b.id ORDER BY ba.position) AS authors,
       ARRAY(SELECT ROW(g.id, g.name) FROM book_genres bg JOIN genres g ON g.id = bg.genre_id
             WHERE bg.book_id = b.id ORDER BY g.name) AS genres
FROM books b
WHERE NOT b.is_archived {after}
ORDER BY b.created_at DESC, b.id DESC
LIMIT {limit}
"""
# Two statements rather than one with "$1 IS NULL OR ...": each keeps an index-range plan.
FIRST_PAGE = _PAGE.format(after="", limit=PAGE_SIZE)
NEXT_PAGE = _PAGE.format(after="AND (b.created_at, b.id) < ($1, $2)", limit=PAGE_SIZE)
HEADERS = [(b"content-type", b"application/json")]


def global_id(type_name: str, node_id: int) -> str:
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def encode_cursor(created_at: datetime, book_id: int) -> str:
    payload = orjson.dumps([ORDERING, [created_at.isoformat(), book_id]])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    name, (created_at, book_id) = orjson.loads(base64.urlsafe_b64decode(cursor + "==="))
    if name != ORDERING:
        raise ValueError("cursor of another ordering")
    return datetime.fromisoformat(created_at), int(book_id)


def render(rows: list[asyncpg.Record]) -> bytes:
    edges = [
        {
            "cursor": encode_cursor(row["created_at"], row["id"]),
            "node": {
                "id": global_id("Book", row["id"]),
                "title": row["title"],
                "price": str(row["price"]),
                "authors": [{"id": global_id("Author", i), "name": n} for i, n in row["authors"]],
                "genres": [{"id": global_id("Genre", i), "name": n} for i, n in row["genres"]],
            },
        }
        for row in rows
    ]
    return orjson.dumps({"data": {"books": {"edges": edges}}})


class Floor:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["method"] == "GET":  # the readiness probe
            await _respond(send, 200, b'{"status":"ok"}')
        else:
            variables = orjson.loads(await _read_body(receive)).get("variables") or {}
            await _respond(send, 200, await self.page(variables.get("after")))

    async def page(self, after: str | None) -> bytes:
        assert self.pool is not None, "the lifespan opens the pool"
        if after is None:
            return render(await self.pool.fetch(FIRST_PAGE))
        return render(await self.pool.fetch(NEXT_PAGE, *decode_cursor(after)))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # The API's pool: 10 connections plus 10 of overflow per worker.
                self.pool = await asyncpg.create_pool(self.dsn, min_size=10, max_size=20)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [*HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app() -> Floor:
    """uvicorn's factory (each worker process builds its own)."""
    return Floor(os.environ["FLOOR_DATABASE_URL"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="floor", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    uvicorn.run(
        "bench.floor:create_app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        **SERVER_OPTIONS,  # the same server as `poetry run serve`
    )


if __name__ == "__main__":
    main()
