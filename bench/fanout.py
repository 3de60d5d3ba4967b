"""Subscription fan-out: 1,000 subscribers to one book, and the time from a restock to the
last subscriber's event; and the memory of an idle subscription.

    poetry run python -m bench.fanout [--workers 2] [--subscribers 1000] [--rounds 30]

Like `poetry run bench` it creates (and drops) its own database and starts the production
server. Each subscriber is an anonymous WebSocket (graphql-transport-ws) following the
book's availability, spread over the workers by the kernel. A round takes the book from
OUT_OF_STOCK to LOW_STOCK with `restockBook` (every subscriber hears it) and back with a
checkout of the copy (heard too, drained before the next round); the latency of a round
runs from sending the restock mutation (so it includes the mutation and its commit) to the
arrival of the last subscriber's event. Memory: RSS of the workers with every socket open
and initialised, then with every socket subscribed; the difference per subscription.
Target: p99 < 250 ms; < 20 KB per idle subscription.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from app.db.session import Database
from app.graphql.ids import encode_id
from app.users import service as users_service
from app.users.schemas import NewAdminInput
from bench.client import GraphQL, data
from bench.database import bench_database, configured_server, postgres_server
from bench.prepare import in_process_api
from bench.run import app_settings, quiet_in_process_app
from bench.servers import Server, api_command, free_port, running, server_env

SUBSCRIBE = json.dumps(
    {
        "id": "1",
        "type": "subscribe",
        "payload": {
            "query": "subscription($ids: [ID!]!) { bookAvailabilityChanged(bookIds: $ids) "
            "{ book { id availability } quantityAvailable } }",
            "variables": {"ids": ["@BOOK@"]},
        },
    }
)
RESTOCK = "mutation($b: ID!) { restockBook(bookId: $b, quantity: 1) { book { availability } } }"
ADD = "mutation($b: ID!) { addToCart(bookId: $b, quantity: 1) { id } }"
CHECKOUT = """mutation($k: String!) { checkout(input: {idempotencyKey: $k, shippingAddress:
  {fullName: "B", line1: "1 Road", city: "Berlin", postalCode: "10115", country: "DE"}}) { id } }"""
PASSWORD = "benchmark password"  # noqa: S105 - a benchmark user's


async def setup(url: str, secret_key: str) -> tuple[str, str, str]:
    """(the book's global id, an admin's token, a buyer's token)."""
    async with in_process_api(app_settings(secret_key, url)) as (app, gql):
        database: Database = app.state.database
        async with database.sessionmaker() as session, session.begin():
            await users_service.create_or_promote_admin(
                session,
                app.state.settings,
                data=NewAdminInput(
                    email="admin@bench.example.com", password=PASSWORD, full_name="A"
                ),
            )
        login = "mutation($i: LoginInput!) { login(input: $i) { accessToken } }"
        credentials = {"i": {"email": "admin@bench.example.com", "password": PASSWORD}}
        admin = data(await gql(login, credentials))["login"]["accessToken"]
        author = data(
            await gql('mutation { createAuthor(input: {name: "Fan Out"}) { id } }', token=admin)
        )["createAuthor"]["id"]
        book = {
            "title": "Fan-out",
            "isbn13": "9780000000002",
            "price": "10.00",
            "stockQuantity": 0,
            "releaseDate": "2020-01-01",
            "authorIds": [author],
        }
        created = data(
            await gql(
                "mutation($i: CreateBookInput!) { createBook(input: $i) { id } }",
                {"i": book},
                token=admin,
            )
        )["createBook"]["id"]
        register = "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }"
        buyer_input = {
            "i": {"email": "buyer@bench.example.com", "password": PASSWORD, "fullName": "B"}
        }
        buyer = data(await gql(register, buyer_input))["register"]["accessToken"]
    assert created == encode_id("Book", 1)
    return created, admin, buyer


async def open_socket(port: int) -> ClientConnection:
    socket = await connect(
        f"ws://127.0.0.1:{port}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        open_timeout=60,
        ping_interval=None,
        max_queue=None,
    )
    await socket.send('{"type": "connection_init", "payload": {}}')
    ack = json.loads(await socket.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"no connection_ack: {ack}")
    return socket


async def next_event(socket: ClientConnection) -> tuple[float, str]:
    """(when it arrived, the next message), answering the server's pings meanwhile. The
    message is decoded later, by `event_of`: decoding 1,000 of them in this one client
    process would delay the arrival of the next ones."""
    while True:
        raw = str(await socket.recv())
        arrived = time.perf_counter()
        if '"type":"ping"' in raw.replace(" ", ""):
            await socket.send('{"type": "pong"}')
            continue
        return arrived, raw


def event_of(raw: str) -> dict[str, Any]:
    message = json.loads(raw)
    if message["type"] != "next":
        raise RuntimeError(f"unexpected message: {message}")
    event: dict[str, Any] = message["payload"]["data"]["bookAvailabilityChanged"]
    return event


async def listen(socket: ClientConnection, book: str, operation: str = "1") -> None:
    await socket.send(
        SUBSCRIBE.replace("@BOOK@", book).replace('"id": "1"', f'"id": "{operation}"')
    )
    await socket.send('{"type": "ping"}')  # answered once the subscription listens
    while json.loads(await socket.recv())["type"] != "pong":
        pass


def total_rss_kb(server: Server) -> float:
    return float(sum(p.memory_info().rss for p in server.worker_processes())) / 1024


async def fan_out(workers: int, subscribers: int, rounds: int) -> dict[str, Any]:
    secret_key = secrets.token_urlsafe(48)
    async with (
        postgres_server(configured_server()) as server_url,
        bench_database(server_url) as url,
    ):
        book, admin, buyer = await setup(url, secret_key)
        env = server_env(
            ENV="production",
            SECRET_KEY=secret_key,
            DATABASE_URL=url,
            LOG_FORMAT="json",
            ACCESS_LOG="false",
            # The clients read their sockets only during the rounds: no keep-alive pings
            # go unanswered while they set up.
            WS_KEEPALIVE_SECONDS="3600",
        )
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="bookstore-fanout-") as work_dir:
            log = Path(work_dir) / "api.log"
            async with (
                running(api_command(port, workers), env, port, workers, log) as server,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
            ):
                api = GraphQL(http)
                base = total_rss_kb(server)
                sockets: list[ClientConnection] = []
                for start in range(0, subscribers, 100):  # not all handshakes at once
                    size = min(100, subscribers - start)
                    sockets += await asyncio.gather(*(open_socket(port) for _ in range(size)))
                await asyncio.sleep(2)  # let the workers settle before reading RSS
                with_sockets = total_rss_kb(server)
                for start in range(0, subscribers, 100):
                    await asyncio.gather(*(listen(s, book) for s in sockets[start : start + 100]))
                await asyncio.sleep(2)
                with_subscriptions = total_rss_kb(server)
                # As many again, on top: what setting subscriptions up leaves behind for
                # good (caches, the pool, the allocator's high-water mark) is in both
                # readings, what each idle one holds only in the difference.
                for start in range(0, subscribers, 100):
                    again = sockets[start : start + 100]
                    await asyncio.gather(*(listen(s, book, "again") for s in again))
                await asyncio.sleep(2)
                with_twice = total_rss_kb(server)
                for socket in sockets:
                    await socket.send('{"id": "again", "type": "complete"}')
                latencies: list[float] = []
                firsts: list[float] = []  # to the first subscriber's event
                answered: list[float] = []  # to the restock's response
                for _ in range(rounds):
                    events = [asyncio.ensure_future(next_event(s)) for s in sockets]
                    sent = time.perf_counter()
                    data(await api(RESTOCK, {"b": book}, token=admin))
                    answered.append((time.perf_counter() - sent) * 1000)
                    heard = await asyncio.gather(*events)
                    arrived = [when for when, _ in heard]
                    for _, raw in heard:
                        if event_of(raw)["book"]["availability"] != "LOW_STOCK":
                            raise RuntimeError(f"unexpected event {raw}")
                    latencies.append((max(arrived) - sent) * 1000)
                    firsts.append((min(arrived) - sent) * 1000)
                    # Back to OUT_OF_STOCK: a sale, heard by everyone too.
                    drained = [asyncio.ensure_future(next_event(s)) for s in sockets]
                    data(await api(ADD, {"b": book}, token=buyer))
                    data(await api(CHECKOUT, {"k": uuid.uuid4().hex}, token=buyer))
                    for _, raw in await asyncio.gather(*drained):
                        event_of(raw)
                for socket in sockets:
                    await socket.close()
    latencies.sort()
    return {
        "workers": workers,
        "subscribers": subscribers,
        "rounds": rounds,
        "restock_to_last_event_ms": {
            "p50": round(latencies[len(latencies) // 2], 1),
            "p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            "max": round(latencies[-1], 1),
        },
        "restock_response_ms_p50": round(sorted(answered)[len(answered) // 2], 1),
        "first_event_ms_p50": round(sorted(firsts)[len(firsts) // 2], 1),
        "rss_per_socket_kb": round((with_sockets - base) / subscribers, 1),
        "rss_per_idle_subscription_kb": round((with_twice - with_subscriptions) / subscribers, 1),
        "rss_per_first_subscription_kb": round(
            (with_subscriptions - with_sockets) / subscribers, 1
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fanout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    quiet_in_process_app()
    result = uvloop.run(fan_out(args.workers, args.subscribers, args.rounds))
    print(json.dumps(result, indent=2))
    latency = result["restock_to_last_event_ms"]
    print(
        f"{result['subscribers']} subscribers on {result['workers']} workers: restock to the "
        f"last event p50 {latency['p50']} ms, p99 {latency['p99']} ms (target < 250 ms); "
        f"{result['rss_per_idle_subscription_kb']} KB per idle subscription (target < 20 KB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
