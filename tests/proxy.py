"""A TCP proxy in front of the test database that a test can cut and restore, to see how the
app behaves while the database is down and whether it recovers on its own; or freeze and
thaw, like a database whose processes are paused: connections stay open and new ones are
accepted, but nothing gets through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.db.session import Database
from app.main import create_app

# The server's ReadyForQuery message, idle: the last message of a connection's start-up.
_READY = b"Z\x00\x00\x00\x05I"


class _Link:
    """One client connection and its upstream one, which forward only while `flowing`."""

    def __init__(self, flowing: bool, *, freeze_when_ready: bool) -> None:
        self.flowing = asyncio.Event()
        if flowing:
            self.flowing.set()
        self.freeze_when_ready = freeze_when_ready


class DatabaseProxy:
    def __init__(self, target_url: str) -> None:
        self.target = make_url(target_url)
        self.port = 0
        self.connections = 0  # opened through the proxy so far
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._links: set[_Link] = set()
        self._frozen = False
        self._freeze_after_start_up = False

    @property
    def url(self) -> str:
        return self.target.set(host="127.0.0.1", port=self.port, query={}).render_as_string(
            hide_password=False
        )

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        socket_dir = self.target.query.get("host")
        if isinstance(socket_dir, str) and socket_dir.startswith("/"):
            return await asyncio.open_unix_connection(
                f"{socket_dir}/.s.PGSQL.{self.target.port or 5432}"
            )
        return await asyncio.open_connection(self.target.host, self.target.port or 5432)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Link,
        *,
        from_server: bool,
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                await link.flowing.wait()  # held, not dropped, while frozen
                writer.write(chunk)
                await writer.drain()
                if from_server and link.freeze_when_ready and _READY in chunk:
                    link.freeze_when_ready = False
                    link.flowing.clear()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        link = _Link(not self._frozen, freeze_when_ready=self._freeze_after_start_up)
        self._links.add(link)
        upstream_reader, upstream_writer = await self._open_target()
        self._writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, upstream_writer, link, from_server=False),
                self._pipe(upstream_reader, writer, link, from_server=True),
            )
        finally:
            self._links.discard(link)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def held(self) -> int:
        """Connections open and frozen."""
        return sum(not link.flowing.is_set() for link in self._links)

    def freeze(self) -> None:
        """Stop forwarding on every connection, open or new, without closing any."""
        self._frozen = True
        for link in self._links:
            link.flowing.clear()

    def freeze_after_start_up(self, on: bool = True) -> None:
        """Connections opened from now on freeze once the server has accepted them (the
        database stops answering right after a client connected). Turned off, it leaves
        the connections it froze as they are."""
        self._freeze_after_start_up = on

    def thaw(self) -> None:
        """Forward everything again, what was held first."""
        self._frozen = self._freeze_after_start_up = False
        for link in self._links:
            link.freeze_when_ready = False
            link.flowing.set()

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones, like a database going away."""
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()
            for link in self._links:  # what was held goes nowhere now
                link.flowing.set()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None


@contextlib.asynccontextmanager
async def proxied_client(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, DatabaseProxy]]:
    """A client of an app (`settings`) whose every database connection goes through a
    proxy, and the proxy."""
    proxy = DatabaseProxy(settings.database_url or "")
    await proxy.start()
    database = Database.from_settings(settings, url=proxy.url)
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client, proxy
    finally:
        proxy.thaw()
        await proxy.stop()
        await database.dispose()
