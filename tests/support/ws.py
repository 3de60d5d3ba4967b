"""A graphql-transport-ws client for tests, on a real WebSocket (the `websockets` library),
as the `graphql-ws` JavaScript client speaks it: it answers the server's pings unless told
not to, and keeps every other message for the test to read."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"
# A safety net so that a broken server fails the test instead of hanging it; never a
# measure of speed.
WAIT_SECONDS = 15.0


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Socket:
    def __init__(self, connection: ClientConnection, *, answer_pings: bool) -> None:
        self.connection = connection
        self.answer_pings = answer_pings
        self.pings = 0
        self._messages: asyncio.Queue[dict[str, Any] | Closed] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.connection:
                message = orjson.loads(raw)
                if message.get("type") == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        await self.send({"type": "pong"})
                    continue
                await self._messages.put(message)
        except ConnectionClosed:
            pass
        close = self.connection.close_code, self.connection.close_reason or ""
        await self._messages.put(Closed(*close))

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self) -> dict[str, Any]:
        """The next message (Closed raised once the socket is closed)."""
        async with asyncio.timeout(WAIT_SECONDS):
            message = await self._messages.get()
        if isinstance(message, Closed):
            self._messages.put_nowait(message)  # for whoever asks next
            raise message
        return message

    async def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send({"type": "connection_init", "payload": payload or {}})
        return await self.receive()

    async def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_id: str | None = None,
    ) -> str:
        operation_id = operation_id or str(next(self._ids))
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})
        return operation_id

    async def listen(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Subscribe, and return once the server listens: it takes messages in order, and
        answers a ping sent after `subscribe` only once the subscription is listening."""
        operation_id = await self.subscribe(query, variables)
        await self.send({"type": "ping"})
        message = await self.receive()
        assert message == {"type": "pong"}, message
        return operation_id

    async def complete(self, operation_id: str) -> None:
        await self.send({"id": operation_id, "type": "complete"})

    async def next(self, operation_id: str | None = None) -> dict[str, Any]:
        """The payload of the next `next` message (of `operation_id`, when given)."""
        message = await self.receive()
        assert message["type"] == "next", message
        if operation_id is not None:
            assert message["id"] == operation_id, message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def error(self, operation_id: str) -> list[dict[str, Any]]:
        message = await self.receive()
        assert message == {**message, "id": operation_id, "type": "error"}, message
        errors: list[dict[str, Any]] = message["payload"]
        return errors

    async def closed(self) -> Closed:
        """How the server closed the socket (messages before that are skipped)."""
        while True:
            try:
                await self.receive()
            except Closed as closed:
                return closed

    async def close(self) -> None:
        await self.connection.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/graphql"


@asynccontextmanager
async def socket(
    base_url: str,
    *,
    subprotocols: list[str] | None = None,
    answer_pings: bool = True,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[Socket]:
    """An open WebSocket to `/graphql` of the server at `base_url` (not initialised)."""
    connection = await connect(
        ws_url(base_url),
        subprotocols=subprotocols or [PROTOCOL],  # type: ignore[arg-type]
        additional_headers=headers,
        open_timeout=WAIT_SECONDS,
    )
    client = Socket(connection, answer_pings=answer_pings)
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def signed_in(
    base_url: str, token: str | None = None, **payload: Any
) -> AsyncIterator[Socket]:
    """A socket past `connection_init` (with `token` as its authorization, if any)."""
    if token is not None:
        payload["authorization"] = f"Bearer {token}"
    async with socket(base_url) as client:
        ack = await client.init(payload)
        assert ack == {"type": "connection_ack"}, ack
        yield client
