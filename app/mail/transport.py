"""Where the sender delivers: an SMTP server (SMTP_URL), or, without one, a folder of .eml
files (the development mailbox) with a log line naming the file and its links."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import aiosmtplib

from app.core.config import SmtpServer
from app.mail.render import Composed, links_in
from app.outbox.consumer import Unavailable
from app.outbox.schemas import Outcome

logger = logging.getLogger("app.mail")

Send = Callable[[Composed], Awaitable[Outcome]]


class Transport(Protocol):
    def open(self) -> AbstractAsyncContextManager[Send]:
        """A session for one batch: one connection for all its messages."""
        ...


class SmtpTransport:
    def __init__(self, server: SmtpServer, *, timeout: float = 30.0) -> None:
        self.server = server
        self.timeout = timeout

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Send]:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.implicit_tls,
            start_tls=server.starttls,
            timeout=self.timeout,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            raise Unavailable(f"SMTP server {server.where}: {_reason(error)}") from None
        try:
            yield lambda composed: self._send(client, composed)
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    async def _send(self, client: aiosmtplib.SMTP, composed: Composed) -> Outcome:
        try:
            await client.send_message(composed.message)
        except aiosmtplib.SMTPRecipientsRefused as refused:
            codes = [error.code for error in refused.recipients]
            return _refused(min(codes, default=550), "recipient refused")
        except (
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            aiosmtplib.SMTPConnectError,
            OSError,
        ) as error:
            raise Unavailable(f"SMTP server {self.server.where}: {_reason(error)}") from None
        except aiosmtplib.SMTPResponseException as error:
            return _refused(error.code, "refused")
        return Outcome.done()


def _refused(code: int, what: str) -> Outcome:
    """5xx is final (RFC 5321), 4xx passes."""
    error = f"SMTP {code}: {what}"
    return Outcome.dead(error) if code >= 500 else Outcome.retry(error)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


class MailDirectory:
    """Development: each message becomes a file you can open in a mail program."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Send]:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        yield self._write

    async def _write(self, composed: Composed) -> Outcome:
        message = composed.message
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        uuid = str(message["Message-ID"]).strip("<>").partition("@")[0]
        path = self.directory / f"{stamp}-{composed.template}-{uuid[:8]}.eml"
        await asyncio.to_thread(path.write_bytes, bytes(message))
        body = message.get_body(("plain",))
        found = links_in(body.get_content()) if body is not None else []
        logger.info(
            "mail to %s, %r: %s%s",
            message["To"],
            str(message["Subject"]),
            path,
            "".join(f"\n    {url}" for url in found),
        )
        return Outcome.done()
